import Testing

@testable import TailcastCore

private func stripped(_ s: String) -> String {
    var out: [UInt8] = []
    Array(s.utf8).withUnsafeBytes { EscapeSequences.strip($0, into: &out) }
    return String(decoding: out, as: UTF8.self)
}

private func block(_ texts: [String]) -> LineBlock {
    var b = LineBlockBuilder(source: "s", nextSeq: 1, maxLineBytes: 4096)
    for t in texts { Array(t.utf8).withUnsafeBytes { b.append($0, truncated: false) } }
    return b.finish()!
}

private func filter(
    _ patterns: [String], literal: Bool = false, ignoreCase: Bool = false, word: Bool = false,
    invert: Bool = false, excludes: [String] = []
) throws -> LineFilter {
    var q = Query()
    q.patterns = patterns
    q.excludes = excludes
    q.literal = literal
    q.ignoreCase = ignoreCase
    q.wordMatch = word
    q.invert = invert
    return try LineFilter(q)
}

/// What a browser shows for `matches` on the raw text: the raw UTF-16 spans moved past the
/// escapes, as Resources/ansi.js + line.js map them (a raw offset inside an escape maps to the
/// shown position where the escape stood).
private func shownPieces(_ raw: String, _ matches: [(Int, Int)]) -> [String] {
    let units = Array(raw.utf16)
    var map = [Int](repeating: 0, count: units.count + 1)
    var shown: [UInt16] = []
    var i = 0
    let bytesToUnits: (Int) -> Int = { b in String(decoding: Array(raw.utf8)[..<b], as: UTF8.self).utf16.count }
    // Escape bounds from the server's rule, in UTF-16 units (escapes are ASCII, except strings).
    var escapes: [(Int, Int)] = []
    Array(raw.utf8).withUnsafeBytes { bytes in
        var p = 0
        while p < bytes.count {
            if bytes[p] == 0x1B {
                let n = EscapeSequences.length(at: p, in: bytes)
                escapes.append((bytesToUnits(p), bytesToUnits(p + n)))
                p += n
            } else {
                p += 1
            }
        }
    }
    var e = 0
    while i < units.count {
        if e < escapes.count, escapes[e].0 == i {
            for k in escapes[e].0..<escapes[e].1 { map[k] = shown.count }
            i = escapes[e].1
            e += 1
            continue
        }
        map[i] = shown.count
        shown.append(units[i])
        i += 1
    }
    map[units.count] = shown.count
    return matches.map { String(decoding: shown[map[$0.0]..<map[$0.1]], as: UTF16.self) }
}

@Suite struct EscapeSequencesTests {
    @Test func stripsSGRAndOtherCSI() {
        #expect(stripped("\u{1B}[31mERROR\u{1B}[0m [worker 3]") == "ERROR [worker 3]")
        #expect(stripped("\u{1B}[1;38;5;208morange\u{1B}[m") == "orange")
        #expect(stripped("progress\u{1B}[K 50%\u{1B}[2J") == "progress 50%")
        #expect(stripped("a\u{1B}[?25lb") == "ab")
        #expect(stripped("plain") == "plain")
    }

    @Test func stripsStringsAndShortEscapes() {
        #expect(stripped("\u{1B}]0;title\u{07}after") == "after")
        #expect(stripped("\u{1B}]8;;http://x\u{1B}\\link\u{1B}]8;;\u{1B}\\") == "link")
        #expect(stripped("a\u{1B}cb") == "ab")
        #expect(stripped("a\u{1B}(Bb") == "ab")
        #expect(stripped("\u{1B}Pq#0;é\u{1B}\\ok") == "ok")
    }

    @Test func malformedAndUnterminatedSequencesEndWhereTheirFormStops() {
        #expect(stripped("red\u{1B}[31") == "red")  // cut by the end of the line
        #expect(stripped("x\u{1B}") == "x")  // a lone ESC at the end
        #expect(stripped("\u{1B}[31\u{1}z") == "\u{1}z")  // a control byte ends a CSI
        #expect(stripped("\u{1B}[31émoji") == "émoji")  // so does a non-ASCII character
        #expect(stripped("\u{1B}é") == "é")  // ESC before a non-ASCII character
        #expect(stripped("\u{1B}\u{1B}[1mx") == "x")  // ESC ESC: the lone ESC, then a CSI
        #expect(stripped("\u{1B}]title without end") == "")  // an unterminated string runs to the end
        #expect(stripped("日本\u{1B}[1m語\u{1B}[0m🎉") == "日本語🎉")  // UTF-8 on both sides stays whole
    }

    @Test func strippedTextIsValidUTF8ForAnyInput() {
        var rng = SystemRandomNumberGenerator()
        let pieces = ["\u{1B}", "[", "]", "3", "1", "m", ";", "é", "🎉", "\u{7}", "\\", "P", "a", " ", "(", "\u{1}"]
        for _ in 0..<2000 {
            let s = (0..<Int.random(in: 0..<12, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            var out: [UInt8] = []
            Array(s.utf8).withUnsafeBytes { EscapeSequences.strip($0, into: &out) }
            #expect(out.withUnsafeBytes { UTF8Repair.classify($0) } != .invalid, "\(Array(s.utf8))")
            #expect(!out.contains(0x1B) || s.contains("\u{1B}]") || s.contains("\u{1B}P"), "\(Array(s.utf8))")
        }
    }

    @Test func rawSpansCoverEscapesInsideButNotAround() {
        let raw = "\u{1B}[31mERROR\u{1B}[0m \u{1B}[1m[worker\u{1B}[0m] up"
        let bytes = Array(raw.utf8)
        // The stripped text is "ERROR [worker] up".
        func pieces(_ spans: [(Int, Int)]) -> [String] {
            bytes.withUnsafeBytes { EscapeSequences.rawSpans(spans, in: $0) }.map { String(decoding: bytes[$0.0..<$0.1], as: UTF8.self) }
        }
        #expect(pieces([(0, 5), (6, 13)]) == ["ERROR", "[worker"])
        #expect(pieces([(0, 13)]) == ["ERROR\u{1B}[0m \u{1B}[1m[worker"])
        #expect(pieces([(13, 17)]) == ["] up"])
        #expect(pieces([(17, 17)]) == [""])
    }
}

@Suite struct MatchTextTests {
    @Test func plainLinesHaveNoMatchTextAndColouredOnesDo() {
        let b = block(["plain line", "\u{1B}[31mERROR\u{1B}[0m coloured", "also plain"])
        #expect(b.hasMatchTexts)
        #expect(!b.records[0].hasMatchText && !b.records[2].hasMatchText)
        #expect(b.records[1].hasMatchText)
        #expect(b.withMatchText(1) { String(decoding: $0, as: UTF8.self) } == "ERROR coloured")
        #expect(b.string(at: 1) == "\u{1B}[31mERROR\u{1B}[0m coloured")  // display text is raw
        #expect(b.withMatchText(0) { String(decoding: $0, as: UTF8.self) } == "plain line")
        #expect(b.matchText.count == "ERROR coloured".utf8.count)
        #expect(!block(["a", "b"]).hasMatchTexts)
    }

    @Test func aLineCutInsideAnEscapeMatchesWithoutItsRest() {
        var b = LineBlockBuilder(source: "s", nextSeq: 1, maxLineBytes: 16)
        // The cut at 16 bytes leaves "\e[31" unterminated: it runs to the end of the line.
        Array("ERROR ok xxx\u{1B}[31mred\u{1B}[0m".utf8).withUnsafeBytes { b.append($0, truncated: false) }
        let block = b.finish()!
        #expect(block.string(at: 0) == "ERROR ok xxx\u{1B}[31")
        #expect(block.withMatchText(0) { String(decoding: $0, as: UTF8.self) } == "ERROR ok xxx")
    }

    @Test func journalMessagesGetAMatchTextToo() {
        var b = LineBlockBuilder(source: "j", nextSeq: 1, maxLineBytes: 1024)
        Array("\u{1B}[1mbold\u{1B}[0m message".utf8).withUnsafeBytes {
            b.appendJournal(message: $0, ts: Timestamp(microseconds: 1), priority: nil, fieldsJSON: Array("{}".utf8), fields: [])
        }
        let block = b.finish()!
        #expect(block.withMatchText(0) { String(decoding: $0, as: UTF8.self) } == "bold message")
        #expect(block.records[0].hasFields)
    }

    @Test func mergedBlocksKeepMatchTexts() {
        let a = block(["\u{1B}[1ma\u{1B}[0m", "b"])
        let b = block(["c", "\u{1B}[2md\u{1B}[0m"])
        let m = a.merged(
            with: LineBlock(
                firstSeq: a.endSeq, text: b.text, json: b.json, records: b.records,
                meta: b.meta, matchText: b.matchText))
        #expect((0..<4).map { i in m.withMatchText(i) { String(decoding: $0, as: UTF8.self) } } == ["a", "b", "c", "d"])
        #expect(m.hasMatchTexts)
    }

    @Test func wordMatchAndRegexSeeTextWithoutColours() throws {
        let lines = [
            "\u{1B}[31mERROR\u{1B}[0m [worker 3] failed", "ERRORS everywhere", "\u{1B}[1mERROR\u{1B}[0m\u{1B}[2m [worker",
            "no match",
        ]
        let b = block(lines)
        var w = try filter(["ERROR"], word: true)
        #expect((0..<b.count).filter { w.keeps(b, $0) } == [0, 2])
        var re = try filter(["ERROR \\[worker"])
        #expect((0..<b.count).filter { re.keeps(b, $0) } == [0, 2])
        var not = try filter([], excludes: ["^ERROR "])
        #expect((0..<b.count).filter { not.keeps(b, $0) } == [1, 3])
        var v = try filter(["^ERROR\\b"], invert: true)
        #expect((0..<b.count).filter { v.keeps(b, $0) } == [1, 3])
        var ci = try filter(["error [w"], literal: true, ignoreCase: true)
        #expect((0..<b.count).filter { ci.keeps(b, $0) } == [0, 2])
    }

    @Test func blockWideLiteralSearchSeesMatchTexts() throws {
        // The fast path (one case-sensitive literal) must not find "ERROR [" across escapes it
        // cannot see, nor miss it where escapes split it.
        let b = block(["x", "\u{1B}[31mERROR\u{1B}[0m [w", "ERROR [w plain", "ERR\u{1B}[0mOR [w"])
        var f = try filter(["ERROR [w"], literal: true)
        #expect(f.searchesBlocks)
        var found: [Int] = []
        var i = 0
        while let k = f.firstKept(in: b, from: i, to: b.count) {
            found.append(k)
            i = k + 1
        }
        #expect(found == [1, 2, 3])
        let plain = block(["x", "ERROR [w", "y"])
        #expect(!plain.hasMatchTexts)
        #expect(f.firstKept(in: plain, from: 0, to: 3) == 1)
    }

    @Test func matchOffsetsAreRawUTF16AndLandOnTheShownCharacters() throws {
        let lines = [
            "\u{1B}[31mERROR\u{1B}[0m [worker] café error",
            "日本 \u{1B}[1;31mErr\u{1B}[0mor 🎉 \u{1B}[4merror\u{1B}[24m!",
            "plain ERROR line",
            "é\u{1B}]0;tïtle\u{7}error",
        ]
        let b = block(lines)
        var f = try filter(["error"], ignoreCase: true)
        for (i, raw) in lines.enumerated() {
            let m = f.matchOffsets(b, i)
            let pieces = shownPieces(raw, m)
            #expect(pieces.allSatisfy { $0.lowercased() == "error" }, "line \(i): \(m) -> \(pieces)")
            #expect(pieces.count == (i == 2 || i == 3 ? 1 : 2), "line \(i): \(pieces)")
        }
        // The exact offsets of the first line: "ERROR" is raw [5,10), "error" after "café " [29,34).
        #expect(f.matchOffsets(b, 0).map { [$0.0, $0.1] } == [[5, 10], [29, 34]])
        // Line 3: é (1 unit), the OSC string (9 units with ï and BEL), then "error".
        #expect(f.matchOffsets(b, 3).map { [$0.0, $0.1] } == [[11, 16]])
        // A match across colours covers the escapes between its characters.
        var across = try filter(["ERROR \\[worker"])
        let m = across.matchOffsets(b, 0)
        #expect(m.map { [$0.0, $0.1] } == [[5, 22]])
        #expect(String(decoding: Array(lines[0].utf16)[5..<22], as: UTF16.self) == "ERROR\u{1B}[0m [worker")
    }
}
