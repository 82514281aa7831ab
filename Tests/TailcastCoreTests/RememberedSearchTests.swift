import Testing

@testable import TailcastCore

/// A block remembers a literal search for the next reader with the same needle: the answers
/// must be those of searching again, from any position, for any window.
@Suite struct RememberedSearchTests {
    private func block(_ texts: [String]) -> LineBlock {
        var b = LineBlockBuilder(source: "s", nextSeq: 1, maxLineBytes: 4096)
        for t in texts { Array(t.utf8).withUnsafeBytes { b.append($0, truncated: false) } }
        return b.finish()!
    }

    private func filter(_ needle: String) throws -> LineFilter {
        var q = Query()
        q.patterns = [needle]
        q.literal = true
        return try LineFilter(q)
    }

    @Test func rememberedAnswersEqualFreshSearches() throws {
        let texts = (0..<300).map { i in "GET /x tag\(String(format: "%03d", i % 10)) \(i)" }
        let b = block(texts)
        var searches = 0
        for start in [0, 7, 150] {
            for needle in ["tag003", "tag007"] {
                var f = try filter(needle)
                var fresh = try filter(needle)
                windows: for from in stride(from: start, to: 300, by: 13) {
                    for to in [from, from + 1, from + 5, min(300, from + 40), 300] where to <= 300 {
                        let got = b.firstKept(literal: Array(needle.utf8), from: from, to: to) {
                            searches += 1
                            return f.firstKept(in: b, from: $0, to: $1)
                        }
                        let want = fresh.firstKept(in: b, from: from, to: to)
                        #expect(got == want, "\(needle) \(from)..<\(to)")
                        if got != want { break windows }
                    }
                }
            }
        }
        // Two needles from line 0 are remembered; from 7 and 150 they are found there too, so
        // each needle was searched in full once (its hits, plus the final miss).
        #expect(searches == 2 * (30 + 1))
    }

    @Test func aBlockRemembersAtMostItsLimitOfNeedles() throws {
        let b = block((0..<64).map { "line \($0) tag\($0 % 20)" })
        for n in 0..<20 {
            var f = try filter("tag\(n)")
            _ = b.firstKept(literal: Array("tag\(n)".utf8), from: 0, to: 64) { f.firstKept(in: b, from: $0, to: $1) }
        }
        #expect(b.rememberedSearches.withLock { $0.count } == LineBlock.rememberedSearchLimit)
        // A needle past the limit is still answered, by its own search.
        var f = try filter("tag19")
        var fresh = try filter("tag19")
        var calls = 0
        let got = b.firstKept(literal: Array("tag19".utf8), from: 10, to: 64) {
            calls += 1
            return f.firstKept(in: b, from: $0, to: $1)
        }
        #expect(got == fresh.firstKept(in: b, from: 10, to: 64))
        #expect(calls == 1)
    }
}
