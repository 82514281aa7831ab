import Testing

@testable import TailcastCore

private func build(_ lines: [[UInt8]], max: Int = 1024, truncated: Bool = false, from seq: UInt64 = 1) -> LineBlock {
    var b = LineBlockBuilder(source: "app", nextSeq: seq, maxLineBytes: max)
    b.stamp(Timestamp(microseconds: 1_764_064_800_123_456))
    for l in lines { l.withUnsafeBytes { b.append($0, truncated: truncated) } }
    return b.finish()!
}

private func fragment(_ block: LineBlock, _ i: Int) -> String {
    let r = block.records[i]
    return String(decoding: block.json[Int(r.jsonStart)..<Int(r.jsonStart + r.jsonLength)], as: UTF8.self)
}

@Suite struct LineBlockBuilderTests {
    @Test func rendersFragmentOnceWithSeqAndTimestamp() {
        let block = build([Array("hello".utf8)], from: 41)
        #expect(fragment(block, 0) == #"{"source":"app","seq":41,"ts":"2025-11-25T10:00:00.123456Z","text":"hello"},"#)
        #expect(block.firstSeq == 41)
        #expect(block.records[0].isASCII)
    }

    @Test func escapesJSONSpecials() {
        let block = build([Array("q\"b\\s\tc\u{1}é".utf8)])
        #expect(fragment(block, 0).contains(#""text":"q\"b\\s\tc\u0001é""#))
        #expect(!block.records[0].isASCII)
    }

    @Test func replacesInvalidUTF8() {
        let block = build([[0x61, 0xFF, 0x62, 0xE2, 0x82]])
        #expect(block.string(at: 0) == "a\u{FFFD}b\u{FFFD}")
    }

    @Test func cutsOnCharacterBoundaryAndFlags() {
        // 20 × "é" (2 bytes each) cut at 25 bytes → 12 characters (24 bytes).
        let block = build([Array(String(repeating: "é", count: 20).utf8)], max: 25)
        #expect(block.string(at: 0) == String(repeating: "é", count: 12))
        #expect(fragment(block, 0).hasSuffix(#","truncated":true},"#))
    }

    @Test func numbersConsecutively() {
        let block = build([Array("a".utf8), Array("b".utf8), Array("c".utf8)], from: 7)
        #expect(block.count == 3)
        #expect(block.endSeq == 10)
        #expect(fragment(block, 2).contains(#""seq":9,"#))
    }

    @Test func mergedBlockKeepsEveryLine() {
        let a = build([Array("a".utf8), Array("b".utf8)], from: 1)
        let b = build([Array("c".utf8)], from: 3)
        let m = a.merged(with: b)
        #expect((0..<3).map { m.string(at: $0) } == ["a", "b", "c"])
        #expect(fragment(m, 2).contains(#""seq":3,"#))
    }
}

@Suite struct UTF8RepairTests {
    private func repaired(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        bytes.withUnsafeBytes { UTF8Repair.repair($0, into: &out) }
        return out
    }

    @Test func classifies() {
        #expect(Array("plain ascii text, long enough".utf8).withUnsafeBytes { UTF8Repair.classify($0) } == .ascii)
        #expect(Array("ünïcode".utf8).withUnsafeBytes { UTF8Repair.classify($0) } == .valid)
        #expect([0x61, 0xC0, 0x80].withUnsafeBytes { UTF8Repair.classify($0) } == .invalid)
        #expect([0xED, 0xA0, 0x80].withUnsafeBytes { UTF8Repair.classify($0) } == .invalid)  // surrogate
    }

    @Test func replacesMaximalSubparts() {
        // Unicode §3.9 example: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64
        let input: [UInt8] = [0x61, 0xF1, 0x80, 0x80, 0xE1, 0x80, 0xC2, 0x62, 0x80, 0x63, 0x80, 0xBF, 0x64]
        #expect(String(decoding: repaired(input), as: UTF8.self) == "a\u{FFFD}\u{FFFD}\u{FFFD}b\u{FFFD}c\u{FFFD}\u{FFFD}d")
        #expect(String(decoding: repaired(input), as: UTF8.self) == String(decoding: input, as: UTF8.self))
    }
}
