import Testing

@testable import TailcastCore

/// Feeds chunks through a splitter and collects (line, truncated).
private func split(_ chunks: [String], max: Int = 1024, flush: Bool = false) -> [(String, Bool)] {
    var s = LineSplitter(maxLineBytes: max)
    var out: [(String, Bool)] = []
    for c in chunks {
        Array(c.utf8).withUnsafeBytes { buf in
            s.split(buf) { line, cut in out.append((String(decoding: line, as: UTF8.self), cut)) }
        }
    }
    if flush { s.flush { line, cut in out.append((String(decoding: line, as: UTF8.self), cut)) } }
    return out
}

@Suite struct LineSplitterTests {
    @Test func splitsOnNewlines() {
        #expect(split(["a\nb\nc\n"]).map(\.0) == ["a", "b", "c"])
    }

    @Test func holdsPartialLineAcrossReads() {
        #expect(split(["hel", "lo wor", "ld\nnext"]).map(\.0) == ["hello world"])
        #expect(split(["hel", "lo\nnext"], flush: true).map(\.0) == ["hello", "next"])
    }

    @Test func dropsCarriageReturnBeforeNewline() {
        #expect(split(["a\r\nb\r", "\n"]).map(\.0) == ["a", "b"])
        #expect(split(["a\rb\n"]).map(\.0) == ["a\rb"])
    }

    @Test func keepsEmptyLines() {
        #expect(split(["\n\nx\n"]).map(\.0) == ["", "", "x"])
    }

    @Test func cutsLongLineAndDiscardsItsRest() {
        let long = String(repeating: "x", count: 100)
        let out = split([long + "\nshort\n"], max: 16)
        #expect(out.count == 2)
        #expect(out[0].1 == true)
        #expect(out[0].0.count == 20)
        #expect(out[1] == ("short", false))
    }

    @Test func cutsLongPartialLineAtOnceAndSkipsToNextNewline() {
        let out = split([String(repeating: "y", count: 30), String(repeating: "y", count: 30), "yy\nok\n"], max: 16)
        #expect(out.map(\.1) == [true, false])
        #expect(out[1].0 == "ok")
    }
}
