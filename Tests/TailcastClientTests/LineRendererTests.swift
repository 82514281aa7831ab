import Testing

@testable import TailcastClient

@Suite struct LineRendererTests {
    func render(_ r: inout LineRenderer, _ lines: [LineRecord]) -> String {
        var out: [UInt8] = []
        r.render(lines, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    let esc = "\u{1B}"

    @Test func plainIsTheTextAlone() {
        var r = LineRenderer(style: .text(color: false, escapeControls: false), server: nil, showSource: false, groupSeparators: false)
        #expect(render(&r, [LineRecord(source: "app", seq: 1, text: "hello error", matches: [[6, 11]])]) == "hello error\n")
    }

    @Test func severalSourcesArePrefixedLikeGrepAndContextUsesADash() {
        var r = LineRenderer(style: .text(color: false, escapeControls: false), server: nil, showSource: true, groupSeparators: false)
        #expect(
            render(
                &r,
                [
                    LineRecord(source: "app", seq: 1, text: "before", context: true),
                    LineRecord(source: "app", seq: 2, text: "the match", matches: [[4, 9]]),
                ])
                == "app-before\napp:the match\n")
    }

    @Test func colourHighlightsTheMatchesAndPrefixes() {
        var r = LineRenderer(style: .text(color: true, escapeControls: true), server: nil, showSource: true, groupSeparators: false)
        let s = render(&r, [LineRecord(source: "app", seq: 1, text: "an error here", matches: [[3, 8]])])
        #expect(s == "\(esc)[35mapp\(esc)[0m\(esc)[36m:\(esc)[0man \(esc)[1;31merror\(esc)[0m here\n")
    }

    @Test func matchOffsetsAreUTF16() {
        // "😀" is two UTF-16 code units; "é" one; the match is "err" at 4..<7.
        var r = LineRenderer(style: .text(color: true, escapeControls: false), server: nil, showSource: false, groupSeparators: false)
        let s = render(&r, [LineRecord(source: "a", seq: 1, text: "😀é err!", matches: [[4, 7]])])
        #expect(s == "😀é \(esc)[1;31merr\(esc)[0m!\n")
    }

    @Test func adjacentAndTrailingSpansAndSpansPastTheEnd() {
        var out: [UInt8] = []
        LineRenderer.appendHighlighted("abcdef", spans: [[0, 2], [2, 3], [5, 99]], escape: false, into: &out)
        let m = "\(esc)[1;31m"
        let z = "\(esc)[0m"
        #expect(String(decoding: out, as: UTF8.self) == "\(m)ab\(z)\(m)c\(z)de\(m)f\(z)")
    }

    @Test func controlCharactersCannotDriveTheTerminal() {
        var r = LineRenderer(style: .text(color: true, escapeControls: true), server: nil, showSource: false, groupSeparators: false)
        #expect(
            render(&r, [LineRecord(source: "a", seq: 1, text: "x\u{1B}]0;pwned\u{07}\ty\u{7F}\u{9B}")]) == "x^[]0;pwned^G\ty^?\\u009b\n")
        var piped = LineRenderer(style: .text(color: false, escapeControls: false), server: nil, showSource: false, groupSeparators: false)
        #expect(
            render(&piped, [LineRecord(source: "a", seq: 1, text: "a\u{1B}[1mb")]) == "a\u{1B}[1mb\n",
            "piped output is the bytes as they are")
    }

    @Test func severalServersPrefixTheServerThenTheSource() {
        var r = LineRenderer(
            style: .text(color: false, escapeControls: false), server: "127.0.0.1:8080", showSource: true, groupSeparators: false)
        #expect(render(&r, [LineRecord(source: "app", seq: 1, text: "x")]) == "127.0.0.1:8080:app:x\n")
    }

    @Test func groupsThatAreNotAdjacentAreSeparated() {
        var r = LineRenderer(style: .text(color: false, escapeControls: false), server: nil, showSource: false, groupSeparators: true)
        let s = render(
            &r,
            [
                LineRecord(source: "a", seq: 1, text: "m1", matches: [[0, 2]]), LineRecord(source: "a", seq: 2, text: "c", context: true),
                LineRecord(source: "a", seq: 9, text: "m2", matches: [[0, 2]]),
            ])
        #expect(s == "m1\nc\n--\nm2\n")
    }

    @Test func jsonIsTheServersObjectWithTheServerAddedWhenSeveral() throws {
        let frame =
            #"{"type":"lines","lines":[{"source":"app","seq":3,"ts":"t","text":"a \"q\" ]}","matches":[[0,1]]},{"source":"app","seq":4,"text":"b"}]}"#
        guard case .lines(let lines) = try ServerMessage.decode(Array(frame.utf8)) else {
            Issue.record("not lines")
            return
        }
        var one = LineRenderer(style: .json, server: nil, showSource: false, groupSeparators: false)
        #expect(
            render(&one, lines) == #"{"source":"app","seq":3,"ts":"t","text":"a \"q\" ]}","matches":[[0,1]]}"# + "\n"
                + #"{"source":"app","seq":4,"text":"b"}"# + "\n")
        var two = LineRenderer(style: .json, server: "h:1", showSource: true, groupSeparators: false)
        #expect(render(&two, [lines[1]]) == #"{"server":"h:1","source":"app","seq":4,"text":"b"}"# + "\n")
    }
}
