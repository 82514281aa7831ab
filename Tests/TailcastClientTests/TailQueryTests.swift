import Testing

@testable import TailcastClient

@Suite struct TailQueryTests {
    @Test func defaultsToTheLastTenLines() {
        #expect(TailQuery(TailOptions()).queryString() == "n=10")
    }

    @Test func everyOptionBecomesItsParameter() {
        var o = TailOptions()
        o.sources = ["app", "web-*/nginx"]
        o.patterns = ["error", "time out"]
        o.excludes = ["healthz"]
        o.literal = true
        o.ignoreCase = true
        o.invert = true
        o.wordMatch = true
        o.after = 1
        o.before = 2
        o.context = 3
        o.backlog = 0
        o.from = "-15m"
        let p = TailQuery(o).parameters()
        #expect(p.map(\.0) == ["source", "source", "q", "q", "not", "F", "i", "v", "w", "A", "B", "C", "n", "from"])
        #expect(
            TailQuery(o).queryString()
                == "source=app&source=web-%2A%2Fnginx&q=error&q=time%20out&not=healthz&F=1&i=1&v=1&w=1&A=1&B=2&C=3&n=0&from=-15m")
    }

    @Test func fromAloneReplaysNoFixedCount() {
        var o = TailOptions()
        o.from = "2026-12-03T10:00:00+01:00"
        #expect(TailQuery(o).queryString() == "from=2026-12-03T10%3A00%3A00%2B01%3A00")
    }

    @Test func patternsAreEncodedByteForByte() {
        #expect(TailQuery.encode("a&b=c+d%é\\") == "a%26b%3Dc%2Bd%25%C3%A9%5C")
    }

    @Test func sinceListsEverySourceAndTheTokenIsNeverInTheURL() {
        var o = TailOptions()
        o.token = "secret-token"
        let q = TailQuery(o).queryString(since: [
            ResumePoint(source: "app", seq: 41, epoch: "k3f9"),
            ResumePoint(source: "web", seq: 7, epoch: "x_1"),
        ])
        #expect(q == "n=10&since=app%3A41%3Ak3f9%2Cweb%3A7%3Ax_1")
        #expect(!q.contains("secret"))
    }
}
