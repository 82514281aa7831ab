/// The settings a journal source is read with.
public struct JournalSourceSettings: Sendable, Equatable {
    /// `_SYSTEMD_UNIT` values (any of them).
    public var units: [String] = []
    /// `SYSLOG_IDENTIFIER` values (any of them).
    public var identifiers: [String] = []
    /// Keep entries of this priority or more urgent (0 emerg … 7 debug), like `journalctl -p`.
    public var priority: Int?
    /// Further `FIELD=value` matches, like `journalctl FIELD=value`.
    public var matches: [String] = []
    /// A journal directory to read instead of the local journal.
    public var directory: String?
    /// Entries loaded from the journal's end at start, so `n` shows recent entries at once.
    public var initialLines = 1000
    public var maxLineBytes = 65_536
    /// `state_dir`, where the source saves its cursor (nil: it does not).
    public var stateDir: String?
    /// The position saved by an earlier run, to continue from.
    public var saved: JournalPosition?

    public init() {}

    /// Every match to add to the handle; the journal ANDs different fields and ORs one field's values.
    public var journalMatches: [String] {
        var all = units.map { "_SYSTEMD_UNIT=\($0)" }
        all += identifiers.map { "SYSLOG_IDENTIFIER=\($0)" }
        if let p = priority { all += (0...max(0, min(7, p))).map { "PRIORITY=\($0)" } }
        return all + matches
    }
}
