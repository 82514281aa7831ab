import TailcastCore

/// Which sources a query reads, given what its token may read: the one rule for `/ws`, its
/// `query` messages and `/api/lines`.
///
/// Promises: an unknown name is `bad_query` naming `source` (listing only what the token may
/// read), a known name the token may not read is `forbidden`; journal-only parameters select
/// the readable journal sources when no source is named and are refused on file sources; a
/// `since` naming an unselected source is refused.
struct SourceSelection {
    let runtime: ServerRuntime
    let grant: TokenTable.Grant

    /// The sources `query` reads.
    func sources(for query: Query) throws(QueryError) -> [SourceHandle] {
        var readable = runtime.sources
        if case .sources(let names) = grant { readable = readable.filter { names.contains($0.name) } }
        var selected: [SourceHandle] = []
        for name in query.sources {
            guard let s = runtime.source(named: name) else {
                let known = readable.map(\.name).joined(separator: ", ")
                throw QueryError(param: "source", message: "unknown source \(JSONString.quoted(name)); configured: \(known)")
            }
            guard readable.contains(where: { $0 === s }) else {
                throw QueryError(code: "forbidden", param: "source", message: "this token may not read \(JSONString.quoted(name))")
            }
            selected.append(s)
        }
        if let journalParam = query.firstJournalParameter {
            if let file = selected.first(where: { $0.kind != .journald }) {
                throw QueryError(
                    param: journalParam,
                    message: "\(journalParam) applies to journal sources only; \(file.name) is a \(file.kind.rawValue) source")
            }
            if selected.isEmpty { selected = readable.filter { $0.kind == .journald } }
            if selected.isEmpty {
                throw QueryError(param: journalParam, message: "\(journalParam) applies to journal sources only, and none is configured")
            }
        }
        if selected.isEmpty { selected = readable }
        for point in query.since where !selected.contains(where: { $0.name == point.source }) {
            throw QueryError(param: "since", message: "since names \(JSONString.quoted(point.source)), which is not a selected source")
        }
        return selected
    }

    /// A subscription over the sources `query` reads.
    func subscription(for query: Query, paused: Bool) throws(QueryError) -> Subscription {
        try Subscription(query: query, sources: sources(for: query), writer: runtime.writer, metrics: runtime.metrics, paused: paused)
    }
}
