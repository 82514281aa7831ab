import CLinux

/// A query's patterns applied to one line: `q` (all must match), `v`, then `not`.
///
/// Patterns see a line's match text (``LineBlock/withMatchText(_:_:)``): its text with
/// escape sequences removed, as the UI shows it; `matches` are offsets in the raw text.
///
/// Promises: compiled once per query; no allocation per line except for the spans of a
/// matched line; a pattern that hits the match limit counts as not matching and is counted
/// in ``limitHits``. Not `Sendable`: owned by one connection's subscription.
public struct LineFilter {
    private let include: [Pattern]
    private let exclude: [Pattern]
    private let invert: Bool
    /// Match attempts that hit the PCRE2 limits since the owner last reset it.
    public var limitHits = 0
    /// The first match of each `q` pattern found by the last ``keeps(_:)`` that kept its text,
    /// and that text's address and length: ``spans(_:)`` of the same text starts from them, so
    /// a kept line is searched once, not once to keep it and again for its `matches`.
    private var firstMatches: [(Int, Int)] = []
    private var firstMatchesOf: (base: UnsafeRawPointer?, count: Int) = (nil, -1)

    /// `true` when the filter keeps every line and reports no spans.
    public let isPassThrough: Bool
    /// `true` when kept lines carry `matches`.
    public var reportsSpans: Bool { !include.isEmpty && !invert }

    /// Compiles the query's patterns. Throws the first bad one, naming `q` or `not`.
    public init(_ query: Query) throws(QueryError) {
        let limit = Pattern.matchLimit(patterns: query.patterns.count + query.excludes.count)
        var inc: [Pattern] = []
        for p in query.patterns {
            inc.append(
                try Pattern(
                    p, literal: query.literal, ignoreCase: query.ignoreCase, wordMatch: query.wordMatch,
                    param: "q", matchLimit: limit))
        }
        var exc: [Pattern] = []
        for p in query.excludes {
            exc.append(
                try Pattern(
                    p, literal: query.literal, ignoreCase: query.ignoreCase, wordMatch: query.wordMatch,
                    param: "not", matchLimit: limit))
        }
        include = inc
        exclude = exc
        invert = query.invert
        isPassThrough = inc.isEmpty && exc.isEmpty && !query.invert
    }

    /// `true` when ``firstKept(in:from:to:)`` searches a whole run of lines in one cheap pass
    /// (a single case-sensitive literal), so callers need not cut the run into small pieces.
    public var searchesBlocks: Bool {
        include.count == 1 && exclude.isEmpty && !invert && !(include[0].literal?.isEmpty ?? true)
    }

    /// The needle of a filter that ``searchesBlocks``, else `nil`: readers with the same one
    /// keep the same lines, so a block remembers the answer (``LineBlock/firstKept(literal:from:to:search:)``).
    public var blockSearchNeedle: [UInt8]? {
        searchesBlocks ? include[0].literal : nil
    }

    /// The first line in `from..<to` of `block` that the filter keeps, or `nil`.
    ///
    /// A single case-sensitive literal searches the block's texts in one pass (as grep does with
    /// its buffer) and checks that each hit lies within one line, unless some line of the block
    /// holds escape sequences; other filters test line by line, on each line's match text.
    public mutating func firstKept(in block: LineBlock, from: Int, to: Int) -> Int? {
        guard from < to else { return nil }
        if include.count == 1, exclude.isEmpty, !invert, !block.hasMatchTexts,
            let needle = include[0].literal, !needle.isEmpty
        {
            return block.text.withUnsafeBytes { all -> Int? in
                needle.withUnsafeBytes { n -> Int? in
                    guard let base = all.baseAddress else { return nil }
                    let records = block.records
                    var pos = Int(records[from].textStart)
                    let last = records[to - 1]
                    let end = Int(last.textStart + last.textLength)
                    var lo = from
                    while pos < end {
                        guard let hit = tailcast_memmem(base + pos, end - pos, n.baseAddress, n.count) else { return nil }
                        let at = UnsafeRawPointer(hit) - base
                        // The line holding `at`: the last one starting at or before it.
                        var hi = to - 1
                        while lo < hi {
                            let mid = (lo + hi + 1) / 2
                            if Int(records[mid].textStart) <= at { lo = mid } else { hi = mid - 1 }
                        }
                        let r = records[lo]
                        if at + n.count <= Int(r.textStart + r.textLength) { return lo }
                        lo += 1
                        guard lo < to else { return nil }
                        pos = Int(records[lo].textStart)
                    }
                    return nil
                }
            }
        }
        for i in from..<to where block.withMatchText(i, { keeps($0) }) { return i }
        return nil
    }

    /// Whether line `index` of `block` is kept (judged on its match text).
    @inline(__always)
    public mutating func keeps(_ block: LineBlock, _ index: Int) -> Bool {
        if isPassThrough { return true }
        return block.withMatchText(index) { keeps($0) }
    }

    /// The `matches` of line `index` of `block`: ``spans(_:)`` of its match text, as `[start,
    /// end)` UTF-16 offsets into its raw text (escape sequences included, as the UI maps them).
    public mutating func matchOffsets(_ block: LineBlock, _ index: Int) -> [(Int, Int)] {
        let record = block.records[index]
        let found = block.withMatchText(index) { spans($0) }
        guard !found.isEmpty else { return [] }
        return block.withText(index) { raw in
            UTF16Offsets.convert(
                record.hasMatchText ? EscapeSequences.rawSpans(found, in: raw) : found,
                in: raw, ascii: record.isASCII)
        }
    }

    /// Whether the line is kept.
    @inline(__always)
    public mutating func keeps(_ text: UnsafeRawBufferPointer) -> Bool {
        if isPassThrough { return true }
        var all = true
        firstMatchesOf = (nil, -1)
        firstMatches.removeAll(keepingCapacity: true)
        for p in include {
            switch p.search(text) {
            case .match(let s, let e):
                firstMatches.append((s, e))
                continue
            case .none: all = false
            case .limit:
                all = false
                limitHits += 1
            }
            break
        }
        if all == invert { return false }
        if all { firstMatchesOf = (text.baseAddress, text.count) }
        for p in exclude {
            switch p.search(text) {
            case .match: return false
            case .none: continue
            case .limit: limitHits += 1
            }
        }
        return true
    }

    /// The union of every non-empty match span of every `q` pattern in `text`, as byte
    /// offsets, sorted, with overlapping or touching spans merged.
    public mutating func spans(_ text: UnsafeRawBufferPointer) -> [(Int, Int)] {
        var all: [(Int, Int)] = []
        let known =
            firstMatchesOf.base == text.baseAddress && firstMatchesOf.count == text.count
            && firstMatches.count == include.count
        firstMatchesOf = (nil, -1)
        for (k, p) in include.enumerated() {
            var from = 0
            // The leftmost match, when non-empty, is also the leftmost non-empty one.
            if known, firstMatches[k].1 > firstMatches[k].0 {
                let (s, e) = firstMatches[k]
                all.append((s, e))
                from = e
            }
            while from < text.count {
                switch p.search(text, from: from, nonEmpty: true) {
                case .match(let s, let e):
                    if e > s { all.append((s, e)) }
                    from = max(e, s + 1)
                case .none:
                    from = text.count
                case .limit:
                    limitHits += 1
                    from = text.count
                }
            }
        }
        if all.count > 1 {
            all.sort { $0.0 < $1.0 }
            var merged: [(Int, Int)] = [all[0]]
            for span in all.dropFirst() {
                if span.0 <= merged[merged.count - 1].1 {
                    merged[merged.count - 1].1 = max(merged[merged.count - 1].1, span.1)
                } else {
                    merged.append(span)
                }
            }
            return merged
        }
        return all
    }
}
