#if canImport(Glibc)
import Glibc
#endif

/// Finds the time a log line was written, in the first bytes of the line: the `log_ts` a file
/// line carries.
///
/// Formats, at the start of the line (RFC 3339 and nginx's may stand in `[…]`):
/// - RFC 3339 / ISO 8601: `2026-12-03T10:00:00Z`, `2026-12-03 10:00:00.123+01:00`,
///   `2026-12-03T10:00:00,5-0500` (`T` or a space; `.` or `,` before 1–9 fraction digits, of
///   which 6 are kept; `Z`, `±HH:MM`, `±HHMM` or `±HH`; without a zone, server local time);
/// - nginx error log: `2026/12/03 10:00:00` (server local time);
/// - syslog (RFC 3164): `Dec  3 10:00:00` or `Dec 03 10:00:00.123`, server local time; the year
///   is the latest that does not put the time more than a day after the read time (so
///   `Dec 31` read on January 1st is last year's);
/// - common / combined log (nginx, Apache): `HOST IDENT USER [03/Dec/2026:10:00:00 +0000]`, the
///   bracket after three or more fields within the first 256 bytes.
///
/// An impossible date or time (`2026-02-30`, `25:00`) or a malformed zone gives no time, and
/// so does anything directly after the time that is a letter or a digit.
///
/// Promises: reads at most the first 256 bytes of a line, byte by byte; no Foundation, no
/// allocation; local time is looked up (`mktime`) once per local hour seen, not per line.
/// Owned by one source's thread (not `Sendable`).
public struct LineTimeParser {
    /// Seconds east of UTC of the server's zone at a local wall time (given as seconds since
    /// the epoch as if it were UTC).
    public typealias LocalOffset = (Int64) -> Int64

    /// Bytes of a line looked at.
    public static let window = 256
    /// How far in the future a syslog time may be (clock skew, a line written before midnight).
    static let syslogFutureSlack: Int64 = 86_400

    private let localOffset: LocalOffset
    private var cachedHour: Int64 = .min
    private var cachedOffset: Int64 = 0
    /// The read time, in microseconds: syslog times pick their year from it.
    private var nowMicros: Int64 = 0
    private var nowYearFor: Int64 = .min
    private var nowYear = 1970

    /// - Parameter localOffset: the zone lookup (tests pass a fixed one); by default the
    ///   server's local zone through `mktime`.
    public init(localOffset: LocalOffset? = nil) {
        self.localOffset = localOffset ?? Self.systemOffset
    }

    /// Sets the read time of the lines that follow (once per batch).
    public mutating func setNow(_ ts: Timestamp) { nowMicros = ts.microseconds }

    /// The time written at the start of `line`, or `nil` when none of the formats is there.
    public mutating func parse(_ line: UnsafeRawBufferPointer) -> Timestamp? {
        let text = UnsafeRawBufferPointer(rebasing: line[0..<min(line.count, Self.window)])
        guard let first = text.first else { return nil }
        var micros: Int64?
        if first >= 0x30, first <= 0x39 {
            micros = iso(text, at: 0)
        } else if first == 0x5B {
            micros = iso(text, at: 1)
        } else if first >= 0x41, first <= 0x5A {
            micros = syslog(text)
        }
        if micros == nil { micros = commonLog(text) }
        guard let m = micros, m >= 0, m < Self.maxMicros else { return nil }
        return Timestamp(microseconds: m)
    }

    /// 10000-01-01T00:00:00Z: the first time that does not render in four year digits.
    static let maxMicros: Int64 = 253_402_300_800_000_000

    // MARK: formats

    /// `YYYY-MM-DD[T ]HH:MM:SS[.f][zone]` or `YYYY/MM/DD HH:MM:SS` at `p`.
    private mutating func iso(_ t: UnsafeRawBufferPointer, at start: Int) -> Int64? {
        var p = start
        guard let year = number(t, &p, 4) else { return nil }
        guard p < t.count, t[p] == 0x2D || t[p] == 0x2F else { return nil }
        let dash = t[p]
        p += 1
        guard let month = number(t, &p, 2), expect(t, &p, dash), let day = number(t, &p, 2) else { return nil }
        guard p < t.count, t[p] == 0x54 || t[p] == 0x74 || t[p] == 0x20 else { return nil }
        p += 1
        guard let time = clock(t, &p) else { return nil }
        guard let days = validDays(year: year, month: month, day: day) else { return nil }
        let wall = Int64(days) * 86_400 + time.seconds
        var offset: Int64?
        if dash == 0x2D, p < t.count {
            switch t[p] {
            case 0x5A, 0x7A:
                offset = 0
                p += 1
            case 0x2B, 0x2D:
                guard let o = zone(t, &p) else { return nil }
                offset = o
            default: break
            }
        }
        guard endsWord(t, p) else { return nil }
        let utc = wall - (offset ?? local(wall))
        return utc * 1_000_000 + time.micros
    }

    /// `Mmm dd HH:MM:SS[.f]` (day space-padded or not), local time, year from the read time.
    private mutating func syslog(_ t: UnsafeRawBufferPointer) -> Int64? {
        guard t.count >= 15, let month = Self.month(t, 0), t[3] == 0x20 else { return nil }
        var p = 4
        if t[p] == 0x20 { p += 1 }
        var day = number(t, &p, 2)
        if day == nil { day = number(t, &p, 1) }
        guard let day, expect(t, &p, 0x20), let time = clock(t, &p), endsWord(t, p) else { return nil }
        let year = currentLocalYear()
        let latest = nowMicros / 1_000_000 + Self.syslogFutureSlack
        for y in stride(from: year + 1, through: year - 1, by: -1) {
            guard let days = validDays(year: y, month: month, day: day) else { continue }
            let wall = Int64(days) * 86_400 + time.seconds
            let utc = wall - local(wall)
            if utc <= latest { return utc * 1_000_000 + time.micros }
        }
        return nil
    }

    /// `HOST IDENT USER [dd/Mmm/yyyy:HH:MM:SS[.f] ±hhmm]`: the first `[` of the line, after
    /// three or more space-separated fields.
    private mutating func commonLog(_ t: UnsafeRawBufferPointer) -> Int64? {
        guard let base = t.baseAddress, let hit = memchr(base, 0x5B, t.count) else { return nil }
        let open = UnsafeRawPointer(hit) - base
        guard open >= 6, t[open - 1] == 0x20 else { return nil }
        var fields = 0
        var previous: UInt8 = 0x20
        for i in 0..<open {
            let b = t[i]
            if b == 0x22 { return nil }
            if b == 0x20, previous != 0x20 { fields += 1 }
            previous = b
        }
        guard fields >= 3 else { return nil }
        var p = open + 1
        guard let day = number(t, &p, 2), expect(t, &p, 0x2F), p + 3 <= t.count,
            let month = Self.month(t, p)
        else { return nil }
        p += 3
        guard expect(t, &p, 0x2F), let year = number(t, &p, 4), expect(t, &p, 0x3A),
            let time = clock(t, &p), expect(t, &p, 0x20), p < t.count, t[p] == 0x2B || t[p] == 0x2D,
            let offset = zone(t, &p), expect(t, &p, 0x5D),
            let days = validDays(year: year, month: month, day: day)
        else { return nil }
        let utc = Int64(days) * 86_400 + time.seconds - offset
        return utc * 1_000_000 + time.micros
    }

    // MARK: pieces

    /// `HH:MM:SS[(.|,)digits]`: seconds of the day and microseconds.
    private func clock(_ t: UnsafeRawBufferPointer, _ p: inout Int) -> (seconds: Int64, micros: Int64)? {
        guard let h = number(t, &p, 2), expect(t, &p, 0x3A), let m = number(t, &p, 2), expect(t, &p, 0x3A),
            let s = number(t, &p, 2), h <= 23, m <= 59, s <= 60
        else { return nil }
        var micros: Int64 = 0
        if p + 1 < t.count, t[p] == 0x2E || t[p] == 0x2C, Self.isDigit(t[p + 1]) {
            p += 1
            var scale: Int64 = 100_000
            var digits = 0
            while p < t.count, Self.isDigit(t[p]) {
                if digits < 9 {
                    micros += Int64(t[p] - 0x30) * scale
                    scale /= 10
                } else {
                    return nil
                }
                digits += 1
                p += 1
            }
        }
        return (Int64(h * 3600 + m * 60 + s), micros)
    }

    /// `±HH:MM`, `±HHMM` or `±HH` at `p` (on the sign): seconds east of UTC.
    private func zone(_ t: UnsafeRawBufferPointer, _ p: inout Int) -> Int64? {
        let sign: Int64 = t[p] == 0x2D ? -1 : 1
        p += 1
        guard let h = number(t, &p, 2), h <= 23 else { return nil }
        var m = 0
        if p < t.count, t[p] == 0x3A {
            p += 1
            guard let mm = number(t, &p, 2) else { return nil }
            m = mm
        } else if let mm = number(t, &p, 2) {
            m = mm
        }
        guard m <= 59 else { return nil }
        return sign * Int64(h * 3600 + m * 60)
    }

    /// Exactly `width` ASCII digits at `p`.
    private func number(_ t: UnsafeRawBufferPointer, _ p: inout Int, _ width: Int) -> Int? {
        guard p + width <= t.count else { return nil }
        var v = 0
        for k in p..<(p + width) {
            guard Self.isDigit(t[k]) else { return nil }
            v = v * 10 + Int(t[k] - 0x30)
        }
        p += width
        return v
    }

    private func expect(_ t: UnsafeRawBufferPointer, _ p: inout Int, _ byte: UInt8) -> Bool {
        guard p < t.count, t[p] == byte else { return false }
        p += 1
        return true
    }

    /// The time ends a word: the line ends, or the next byte is not an ASCII letter or digit.
    private func endsWord(_ t: UnsafeRawBufferPointer, _ p: Int) -> Bool {
        guard p < t.count else { return true }
        let b = t[p] | 0x20
        return !(Self.isDigit(t[p]) || (b >= 0x61 && b <= 0x7A))
    }

    private func validDays(year: Int, month: Int, day: Int) -> Int? {
        guard month >= 1, month <= 12, day >= 1, day <= CivilTime.daysInMonth(year: year, month: month) else { return nil }
        return CivilTime.days(year: year, month: month, day: day)
    }

    @inline(__always) private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private static let months: [(UInt8, UInt8, UInt8)] = [
        (0x4A, 0x61, 0x6E), (0x46, 0x65, 0x62), (0x4D, 0x61, 0x72), (0x41, 0x70, 0x72), (0x4D, 0x61, 0x79), (0x4A, 0x75, 0x6E),
        (0x4A, 0x75, 0x6C), (0x41, 0x75, 0x67), (0x53, 0x65, 0x70), (0x4F, 0x63, 0x74), (0x4E, 0x6F, 0x76), (0x44, 0x65, 0x63),
    ]

    /// The month (1–12) whose English abbreviation (`Jan`…`Dec`) stands at `p`.
    private static func month(_ t: UnsafeRawBufferPointer, _ p: Int) -> Int? {
        guard p + 3 <= t.count else { return nil }
        let key = (t[p], t[p + 1], t[p + 2])
        for (i, m) in months.enumerated() where m == key { return i + 1 }
        return nil
    }

    // MARK: local time

    /// Seconds east of UTC at local wall time `wall`, looked up once per local hour.
    private mutating func local(_ wall: Int64) -> Int64 {
        let hour = wall >= 0 ? wall / 3600 : (wall - 3599) / 3600
        if hour != cachedHour {
            cachedOffset = localOffset(wall)
            cachedHour = hour
        }
        return cachedOffset
    }

    /// The local year of the read time (computed once per read second).
    private mutating func currentLocalYear() -> Int {
        let second = nowMicros / 1_000_000
        if second != nowYearFor {
            let wall = second + localOffset(second)
            let days = wall >= 0 ? wall / 86_400 : (wall - 86_399) / 86_400
            nowYear = CivilTime.date(days: Int(days)).year
            nowYearFor = second
        }
        return nowYear
    }

    /// The server's zone through `mktime` (which reads `TZ` / `/etc/localtime`).
    static func systemOffset(_ wall: Int64) -> Int64 {
        let days = wall >= 0 ? wall / 86_400 : (wall - 86_399) / 86_400
        let d = CivilTime.date(days: Int(days))
        let rest = Int32(wall - days * 86_400)
        var parts = tm()
        parts.tm_year = Int32(d.year - 1900)
        parts.tm_mon = Int32(d.month - 1)
        parts.tm_mday = Int32(d.day)
        parts.tm_hour = rest / 3600
        parts.tm_min = rest / 60 % 60
        parts.tm_sec = rest % 60
        parts.tm_isdst = -1
        let t = mktime(&parts)
        guard t != -1 else { return 0 }
        return wall - Int64(t)
    }
}
