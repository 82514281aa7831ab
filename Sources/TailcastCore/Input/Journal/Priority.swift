/// A journal (syslog) priority: 0 `emerg`, the most urgent, to 7 `debug`.
///
/// The one reading of a priority for the config (`priority` of a journald `[[source]]`) and for
/// queries (`priority=`): a number 0-7 or a name, case-insensitive, with the usual aliases
/// (`panic` for `emerg`, `error` for `err`, `warn` for `warning`), as journalctl and syslog
/// accept them.
public struct Priority: Sendable, Hashable, Comparable, RawRepresentable, CustomStringConvertible {
    /// 0...7.
    public let rawValue: Int

    /// `nil` unless `rawValue` is 0...7.
    public init?(rawValue: Int) {
        guard (0...7).contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// Reads `"0"`-`"7"` or a name (`"err"`, `"WARNING"`, `"warn"`...); `nil` for anything else.
    public init?(_ text: String) {
        let lower = text.lowercased()
        if lower.utf8.count == 1, let n = Int(lower) {
            self.init(rawValue: n)
        } else if let n = Self.names.firstIndex(of: lower) ?? Self.aliases[lower] {
            self.init(rawValue: n)
        } else {
            return nil
        }
    }

    /// The canonical names, by value: `names[3] == "err"`.
    public static let names = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
    /// Other names accepted for the same values.
    public static let aliases = ["panic": 0, "error": 3, "warn": 4]

    /// What a priority may be, for error messages.
    public static let accepted =
        "0 to 7 or emerg (panic), alert, crit, err (error), warning (warn), notice, info, debug"

    /// The canonical name (`"err"` for 3).
    public var name: String { Self.names[rawValue] }
    public var description: String { name }

    /// More urgent is smaller, as in syslog: `emerg < debug`.
    public static func < (a: Priority, b: Priority) -> Bool { a.rawValue < b.rawValue }
}
