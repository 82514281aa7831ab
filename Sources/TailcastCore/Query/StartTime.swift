/// The `TIME` of `from=TIME`: an RFC 3339 instant or a negative duration from now.
///
/// Promises: ``parse(_:now:)`` accepts exactly `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`
/// (`T`/`t`/space between date and time, `Z`/`z`; fractions beyond microseconds are cut) and
/// `-N` followed by `s`, `m`, `h` or `d` with N from 0 to ``maxDays`` days; it returns the instant
/// in microseconds or `nil`, never throws, and reads at most ``maxLength`` bytes.
public enum StartTime {
    /// The longest TIME accepted, in bytes.
    public static let maxLength = 64
    /// The furthest back a relative TIME may reach, in days (ten years).
    public static let maxDays: Int64 = 3650

    /// The instant `text` names, relative to `now` when it is a duration; `nil` when malformed.
    public static func parse(_ text: String, now: Timestamp = .now()) -> Timestamp? {
        let b = Array(text.utf8)
        guard !b.isEmpty, b.count <= maxLength else { return nil }
        if b[0] == UInt8(ascii: "-") { return relative(b, now: now) }
        return rfc3339(b)
    }

    /// `-30s`, `-15m`, `-2h`, `-1d`.
    static func relative(_ b: [UInt8], now: Timestamp) -> Timestamp? {
        guard b.count >= 3, b.count <= 12 else { return nil }
        let digits = b[1..<(b.count - 1)]
        guard digits.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        var n: Int64 = 0
        for d in digits { n = n * 10 + Int64(d - 0x30) }
        let unit: Int64
        switch b[b.count - 1] {
        case UInt8(ascii: "s"): unit = 1
        case UInt8(ascii: "m"): unit = 60
        case UInt8(ascii: "h"): unit = 3600
        case UInt8(ascii: "d"): unit = 86_400
        default: return nil
        }
        guard n <= maxDays * 86_400 / unit else { return nil }
        return Timestamp(microseconds: now.microseconds - n * unit * 1_000_000)
    }

    /// `2026-12-03T10:00:00Z`, `2026-12-03T10:00:00.5+01:00`.
    static func rfc3339(_ b: [UInt8]) -> Timestamp? {
        var p = 0
        func number(_ width: Int) -> Int64? {
            guard p + width <= b.count else { return nil }
            var v: Int64 = 0
            for k in p..<(p + width) {
                guard (0x30...0x39).contains(b[k]) else { return nil }
                v = v * 10 + Int64(b[k] - 0x30)
            }
            p += width
            return v
        }
        func expect(_ c: UInt8...) -> Bool {
            guard p < b.count, c.contains(b[p]) else { return false }
            p += 1
            return true
        }
        guard let year = number(4), expect(0x2D), let month = number(2), expect(0x2D), let day = number(2),
            expect(UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")),
            let hour = number(2), expect(0x3A), let minute = number(2), expect(0x3A), let second = number(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= Int64(CivilTime.daysInMonth(year: Int(year), month: Int(month))),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var micros: Int64 = 0
        if p < b.count, b[p] == UInt8(ascii: ".") {
            p += 1
            var scale: Int64 = 100_000
            let start = p
            while p < b.count, (0x30...0x39).contains(b[p]) {
                micros += Int64(b[p] - 0x30) * scale
                scale /= 10
                p += 1
            }
            guard p > start else { return nil }
        }
        guard p < b.count else { return nil }
        var offset: Int64 = 0
        switch b[p] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            p += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign: Int64 = b[p] == UInt8(ascii: "+") ? 1 : -1
            p += 1
            guard let oh = number(2), expect(0x3A), let om = number(2), oh <= 23, om <= 59 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        default:
            return nil
        }
        guard p == b.count else { return nil }
        // A leap second (:60) counts as the next second's start.
        let seconds =
            Int64(CivilTime.days(year: Int(year), month: Int(month), day: Int(day))) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Timestamp(microseconds: seconds * 1_000_000 + micros)
    }
}
