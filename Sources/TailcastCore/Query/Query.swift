/// One resume point of `since`: continue after `seq` of `source`, in `epoch` if given.
public struct ResumePoint: Sendable, Equatable {
    public var source: String
    public var seq: UInt64
    public var epoch: String?

    public init(source: String, seq: UInt64, epoch: String?) {
        self.source = source
        self.seq = seq
        self.epoch = epoch
    }
}

/// A connection's normalized query: what it receives and how.
///
/// Promises: a value that passed ``QueryParser`` is within every bound of the contract
/// (pattern count and size, `n`, `A`/`B`); `C` is folded into `after` and `before`.
public struct Query: Sendable, Equatable {
    public var sources: [String] = []
    public var patterns: [String] = []
    public var excludes: [String] = []
    public var literal = false
    public var ignoreCase = false
    public var invert = false
    public var wordMatch = false
    public var after = 0
    public var before = 0
    public var backlog = 0
    public var since: [ResumePoint] = []
    /// `from=TIME`: replay the held lines with a `ts` at or after this instant.
    public var from: Timestamp?
    public var units: [String] = []
    public var priority: Int?
    public var identifiers: [String] = []
    public var fields: [String] = []
    public var token: String?

    public init() {}

    /// `true` when a journal-only parameter is set.
    public var hasJournalFilter: Bool {
        !units.isEmpty || priority != nil || !identifiers.isEmpty || !fields.isEmpty
    }

    /// The name of the first journal-only parameter that is set.
    public var firstJournalParameter: String? {
        if !units.isEmpty { return "unit" }
        if priority != nil { return "priority" }
        if !identifiers.isEmpty { return "identifier" }
        if !fields.isEmpty { return "fields" }
        return nil
    }

    /// The normalized query as JSON, for `hello`.
    public var json: String {
        var parts: [String] = []
        func list(_ key: String, _ values: [String]) {
            parts.append("\"\(key)\":[" + values.map(JSONString.quoted).joined(separator: ",") + "]")
        }
        list("source", sources)
        list("q", patterns)
        list("not", excludes)
        parts.append("\"F\":\(literal)")
        parts.append("\"i\":\(ignoreCase)")
        parts.append("\"v\":\(invert)")
        parts.append("\"w\":\(wordMatch)")
        parts.append("\"A\":\(after)")
        parts.append("\"B\":\(before)")
        parts.append("\"n\":\(backlog)")
        if !since.isEmpty {
            let s = since.map { p in p.source + ":" + String(p.seq) + (p.epoch.map { ":" + $0 } ?? "") }
            parts.append("\"since\":" + JSONString.quoted(s.joined(separator: ",")))
        }
        if let from { parts.append("\"from\":\"" + from.rfc3339 + "\"") }
        if !units.isEmpty { list("unit", units) }
        if let priority { parts.append("\"priority\":\(priority)") }
        if !identifiers.isEmpty { list("identifier", identifiers) }
        if !fields.isEmpty { list("fields", fields) }
        return "{" + parts.joined(separator: ",") + "}"
    }
}
