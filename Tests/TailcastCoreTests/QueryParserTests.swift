import Testing

@testable import TailcastCore

private func parse(_ params: [(String, String)]) throws(QueryError) -> Query {
    try QueryParser().parse(parameters: params)
}

private func rejected(_ params: [(String, String)]) -> QueryError? {
    do {
        _ = try parse(params)
        return nil
    } catch { return error }
}

@Suite struct QueryParserTests {
    @Test func parsesGrepStyleParameters() throws {
        let q = try parse([
            ("source", "a,b"), ("source", "c"), ("q", "x"), ("q", "y"), ("not", "z"),
            ("F", ""), ("i", "1"), ("v", "true"), ("w", "0"), ("C", "2"), ("A", "5"), ("n", "10"),
        ])
        #expect(q.sources == ["a", "b", "c"])
        #expect(q.patterns == ["x", "y"])
        #expect(q.excludes == ["z"])
        #expect(q.literal && q.ignoreCase && q.invert && !q.wordMatch)
        #expect(q.after == 5 && q.before == 2)
        #expect(q.backlog == 10)
    }

    /// Found by `make fuzz` (Fuzz/corpus/regressions/QueryStringFuzz): `&` or `=` followed by a
    /// combining mark is one Character to Swift, so a Character-based split missed it.
    @Test func queryStringSplitsOnBytesNotCharacters() {
        let p = QueryString.parse("q=a&\u{301}x=1")
        #expect(p.count == 2)
        #expect(p.first?.0 == "q" && p.first?.1 == "a")
        #expect(p.last?.0 == "\u{301}x" && p.last?.1 == "1")
        let e = QueryString.parse("=\u{301}")
        #expect(e.count == 1 && e.first?.0 == "" && e.first?.1 == "\u{301}")
    }

    /// Found by `make fuzz` (Fuzz/corpus/regressions/QueryStringFuzz/comma-then-joiner): `,`
    /// followed by a joiner or combining mark is one Character, so `source=a,\u{200D}b` was one
    /// source named "a,\u{200D}b".
    @Test func fieldsAreBoundedAndCountedOnce() throws {
        // A client asking for a thousand fields would make every journal line scan them all.
        let many = (0..<65).map { "F\($0)" }.joined(separator: ",")
        #expect(throws: QueryError.self) { try parse([("fields", many)]) }
        do {
            _ = try parse([("fields", many)])
        } catch {
            #expect(error.param == "fields")
        }
        // Repeats count once: 64 distinct names asked twice are fine.
        let sixtyFour = (0..<64).map { "F\($0)" }.joined(separator: ",")
        let q = try parse([("fields", sixtyFour), ("fields", sixtyFour)])
        #expect(q.fields.count == 64)
    }

    @Test func listsSplitOnCommaAndColonBytes() throws {
        let q = try parse([("source", "a,\u{200D}b"), ("fields", "X,\u{301}Y")])
        #expect(q.sources == ["a", "\u{200D}b"])
        #expect(q.fields == ["X", "\u{301}Y"])
        #expect(rejected([("since", "a:\u{301}:1")])?.param == "since")
    }

    /// Found by `make fuzz` (Fuzz/corpus/regressions/ClientMessageFuzz/high-surrogate-then-escape):
    /// a high surrogate escape followed by an escape that is not a low surrogate swallowed it.
    @Test func loneHighSurrogateKeepsTheEscapeAfterIt() throws {
        #expect(try JSONValue.parse(#""\ud83d\u83df""#) == .string("\u{FFFD}\u{83DF}"))
        #expect(try JSONValue.parse(#""\ud83d\u0041x""#) == .string("\u{FFFD}Ax"))
        #expect(try JSONValue.parse(#""\ud83d\ude00\udc00""#) == .string("\u{1F600}\u{FFFD}"))
    }

    @Test func namesTheBadParameter() {
        #expect(rejected([("bogus", "1")])?.param == "bogus")
        #expect(rejected([("i", "yes")])?.param == "i")
        #expect(rejected([("n", "-1")])?.param == "n")
        #expect(rejected([("n", "1000001")])?.param == "n")
        #expect(rejected([("A", "1001")])?.param == "A")
        #expect(rejected([("C", "x")])?.param == "C")
        #expect(rejected([("since", "app")])?.param == "since")
        #expect(rejected([("since", "app:1:bad epoch")])?.param == "since")
        #expect(rejected([("priority", "loud")])?.param == "priority")
        #expect(rejected([("q", String(repeating: "a", count: 4097))])?.param == "q")
        #expect(rejected((0..<17).map { ("q", "p\($0)") })?.param == "q")
        #expect(rejected((0..<8).map { ("q", "p\($0)") } + (0..<9).map { ("not", "n\($0)") })?.param == "not")
        #expect(rejected([("bogus", "1")])?.code == "bad_query")
    }

    @Test func acceptsTheBounds() throws {
        #expect(try parse([("n", "1000000"), ("A", "1000")]).backlog == 1_000_000)
        #expect(try parse((0..<16).map { ("q", "p\($0)") }).patterns.count == 16)
        #expect(try parse([("q", String(repeating: "a", count: 4096))]).patterns.count == 1)
    }

    @Test func parsesResumePoints() throws {
        let q = try parse([("since", "app:41,sys:9:k3f9a2")])
        #expect(q.since == [ResumePoint(source: "app", seq: 41, epoch: nil), ResumePoint(source: "sys", seq: 9, epoch: "k3f9a2")])
    }

    @Test func parsesPriorityNamesAndNumbers() throws {
        #expect(try parse([("priority", "err")]).priority == 3)
        #expect(try parse([("priority", "7")]).priority == 7)
        #expect(try parse([("priority", "warning")]).priority == 4)
    }

    @Test func parsesQueryMessages() throws {
        let msg = try JSONValue.parse(#"{"type":"query","q":["a","b"],"i":true,"v":"1","n":5,"source":"app","not":"x"}"#)
        let q = try QueryParser().parse(message: msg)
        #expect(q.patterns == ["a", "b"])
        #expect(q.ignoreCase && q.invert)
        #expect(q.backlog == 5)
        #expect(q.sources == ["app"])
        #expect(q.excludes == ["x"])
    }

    @Test func messageNumbersMustBeNumbersOfRange() throws {
        let bad = try JSONValue.parse(#"{"type":"query","n":1.5}"#)
        #expect(throws: QueryError.self) { try QueryParser().parse(message: bad) }
        let flag = try JSONValue.parse(#"{"type":"query","i":2}"#)
        do {
            _ = try QueryParser().parse(message: flag)
            Issue.record("accepted i=2")
        } catch { #expect(error.param == "i") }
    }

    @Test func malformedJSONIsABadMessage() {
        for text in ["{", "[1,]", "{\"a\":}", "nul", "{\"a\":1} x"] {
            do {
                _ = try JSONValue.parse(text)
                Issue.record("accepted \(text)")
            } catch { #expect(error.code == "bad_message") }
        }
    }

    @Test func normalizedQueryJSONFoldsC() throws {
        let q = try parse([("C", "3"), ("q", "a\"b")])
        #expect(q.json.contains(#""q":["a\"b"]"#))
        #expect(q.json.contains(#""A":3,"B":3"#))
    }
}
