import Synchronization

/// One literal search over a block, from line `start` to its end: which lines it keeps, a bit
/// per line.
struct RememberedSearch: Sendable {
    let needle: [UInt8]
    let start: Int
    let kept: [UInt64]

    /// The first kept line in `from..<to` (`from >= start`), or `nil`.
    func first(from: Int, to: Int) -> Int? {
        var i = from - start
        let end = to - start
        while i < end {
            let word = kept[i >> 6] >> UInt64(i & 63)
            if word != 0 {
                let k = i + word.trailingZeroBitCount
                return k < end ? k + start : nil
            }
            i = (i | 63) + 1
        }
        return nil
    }
}

extension LineBlock {
    /// Searches remembered per block: enough for the few filters a crowd shares (a wall of
    /// dashboards on `error`, a team on one request id); readers with other needles search on
    /// their own.
    static let rememberedSearchLimit = 16

    /// The first line in `from..<to` that a search for the literal `needle` keeps, where
    /// `search(from, to)` is that search (the reader's own filter).
    ///
    /// Promises: the same answer as `search(from, to)`; the first reader with a needle searches
    /// the block from `from` to its end once and remembers the result, so other readers with
    /// the same needle (any number of connections on any thread) look it up instead of
    /// searching again; a block remembers at most ``rememberedSearchLimit`` searches, at most
    /// one bit per line each (a 10 000-line block: 1.25 KB per search, 20 KB for all).
    public func firstKept(literal needle: [UInt8], from: Int, to: Int, search: (Int, Int) -> Int?) -> Int? {
        guard from < to else { return nil }
        // One lock: the remembered search, or whether there is room for another.
        let (remembered, full) = rememberedSearches.withLock { list -> (RememberedSearch?, Bool) in
            (list.first { $0.start <= from && $0.needle == needle }, list.count >= Self.rememberedSearchLimit)
        }
        if let remembered { return remembered.first(from: from, to: to) }
        if full { return search(from, to) }
        var kept = [UInt64](repeating: 0, count: (count - from + 63) >> 6)
        var i = from
        while i < count, let k = search(i, count) {
            kept[(k - from) >> 6] |= 1 << UInt64((k - from) & 63)
            i = k + 1
        }
        let result = RememberedSearch(needle: needle, start: from, kept: kept)
        rememberedSearches.withLock { list in
            if list.count < Self.rememberedSearchLimit { list.append(result) }
        }
        return result.first(from: from, to: to)
    }
}
