import TailcastCore

/// Which sources a query reads, given what its token may read: the one rule for `/ws`, its
/// `query` messages and `/api/lines`.
///
/// Promises: `source=` takes names and `*` globs (`*/app`, `web-*/nginx`) matched against the
/// sources known at the time of the query; an unknown name, or a glob matching none, is
/// `bad_query` naming `source` (listing only what the token may
/// read), a known name the token may not read is `forbidden`; journal-only parameters select
/// the readable journal sources when no source is named and are refused on file sources; a
/// `since` naming an unselected source is refused.
struct SourceSelection {
    let runtime: ServerRuntime
    let grant: TokenTable.Grant

    /// The sources `query` reads.
    func sources(for query: Query) throws(QueryError) -> [SourceHandle] {
        let all = runtime.sources
        let readable = all.filter { grant.allows($0.name) }
        var selected: [SourceHandle] = []
        for name in query.sources {
            if SourcePattern.isGlob(name) {
                // Bounded before any matching: a glob is matched against every known source.
                guard SourcePattern.isValid(name) else {
                    throw QueryError(
                        param: "source",
                        message: "a source glob is at most two parts (HOST/NAME) of 1 to 64 of A-Z a-z 0-9 _ . - *; got "
                            + JSONString.quoted(String(name.prefix(80))))
                }
                // A glob selects the readable sources it matches now, in the usual order.
                let matching = all.filter { SourcePattern.matches(name, $0.name) }
                let allowed = matching.filter { s in readable.contains { $0 === s } }
                if allowed.isEmpty {
                    if !matching.isEmpty {
                        throw QueryError(
                            code: "forbidden", param: "source",
                            message: "this token may not read any source matching \(JSONString.quoted(name))")
                    }
                    let known = readable.map(\.name).joined(separator: ", ")
                    throw QueryError(param: "source", message: "no source matches \(JSONString.quoted(name)); known: \(known)")
                }
                for s in allowed where !selected.contains(where: { $0 === s }) { selected.append(s) }
                continue
            }
            guard let s = all.first(where: { $0.name == name }) else {
                let known = readable.map(\.name).joined(separator: ", ")
                throw QueryError(param: "source", message: "unknown source \(JSONString.quoted(name)); configured: \(known)")
            }
            guard readable.contains(where: { $0 === s }) else {
                throw QueryError(code: "forbidden", param: "source", message: "this token may not read \(JSONString.quoted(name))")
            }
            if !selected.contains(where: { $0 === s }) { selected.append(s) }
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

    /// Whether `query` takes in sources that appear later: it names a glob, or no source.
    static func followsNewSources(_ query: Query) -> Bool {
        query.sources.isEmpty || query.sources.contains(where: SourcePattern.isGlob)
    }

    /// The sources `query` would read now that `subscription` does not read yet (none when
    /// the query names only exact sources, or the selection fails now).
    func newSources(for query: Query, besides current: [SourceHandle]) -> [SourceHandle] {
        guard Self.followsNewSources(query), let now = try? sources(for: query) else { return [] }
        return now.filter { s in !current.contains { $0.name == s.name } }
    }

    /// A subscription over the sources `query` reads.
    func subscription(for query: Query, paused: Bool) throws(QueryError) -> Subscription {
        try Subscription(query: query, sources: sources(for: query), writer: runtime.writer, metrics: runtime.metrics, paused: paused)
    }
}
