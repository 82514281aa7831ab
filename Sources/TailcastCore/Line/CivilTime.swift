/// Calendar arithmetic on the proleptic Gregorian calendar in integers: no libc, no Foundation,
/// no allocation, so it may run once per line.
public enum CivilTime {
    /// Days from 1970-01-01 to `year`-`month`-`day` (H. Hinnant's `days_from_civil`).
    @inlinable
    public static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
    @inlinable
    public static func date(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Days in `month` of `year`.
    @inlinable
    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.ffffffZ` (27 bytes) for `microseconds` since the epoch,
    /// which must lie in years 0000–9999.
    public static func appendRFC3339(_ microseconds: Int64, to out: inout [UInt8]) {
        var secs = microseconds / 1_000_000
        var frac = microseconds % 1_000_000
        if frac < 0 {
            frac += 1_000_000
            secs -= 1
        }
        var days = secs / 86_400
        var rest = secs % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        let d = date(days: Int(days))
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var v = value
            while divisor > 0 {
                out.append(UInt8(0x30 + (v / divisor) % 10))
                v %= divisor
                divisor /= 10
            }
        }
        digits(d.year, 4)
        out.append(0x2D)
        digits(d.month, 2)
        out.append(0x2D)
        digits(d.day, 2)
        out.append(0x54)
        digits(Int(rest / 3600), 2)
        out.append(0x3A)
        digits(Int(rest / 60 % 60), 2)
        out.append(0x3A)
        digits(Int(rest % 60), 2)
        out.append(0x2E)
        digits(Int(frac), 6)
        out.append(0x5A)
    }
}
