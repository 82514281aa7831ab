#if canImport(Glibc)
import Glibc
#endif

/// A wall-clock instant in microseconds since the Unix epoch, rendered as RFC 3339 UTC.
public struct Timestamp: Sendable, Equatable, Comparable {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(microseconds: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000)
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.microseconds < b.microseconds }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    public var rfc3339: String {
        String(decoding: rfc3339Bytes, as: UTF8.self)
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ` as bytes: computed once per batch, never per line.
    public var rfc3339Bytes: [UInt8] {
        var secs = time_t(microseconds / 1_000_000)
        var frac = Int(microseconds % 1_000_000)
        if frac < 0 {
            frac += 1_000_000
            secs -= 1
        }
        var parts = tm()
        gmtime_r(&secs, &parts)
        var out: [UInt8] = []
        out.reserveCapacity(27)
        func digits(_ value: Int, _ width: Int) {
            var buf = [UInt8](repeating: 0x30, count: width)
            var v = value
            for k in stride(from: width - 1, through: 0, by: -1) {
                buf[k] = UInt8(0x30 + v % 10)
                v /= 10
            }
            out.append(contentsOf: buf)
        }
        digits(Int(parts.tm_year) + 1900, 4)
        out.append(0x2D)
        digits(Int(parts.tm_mon) + 1, 2)
        out.append(0x2D)
        digits(Int(parts.tm_mday), 2)
        out.append(0x54)
        digits(Int(parts.tm_hour), 2)
        out.append(0x3A)
        digits(Int(parts.tm_min), 2)
        out.append(0x3A)
        digits(Int(parts.tm_sec), 2)
        out.append(0x2E)
        digits(frac, 6)
        out.append(0x5A)
        return out
    }
}
