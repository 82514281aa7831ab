// libFuzzer target: bytes read from a file, through LineSplitter (in chunks), UTF8Repair and
// LineBlockBuilder, as a file source reads them.
//
// Input layout: byte 0 picks maxLineBytes (16 + byte 0 % 64; the splitter's and builder's floor
// is 16), byte 1 seeds the read sizes (1 to 64 bytes per read), the rest is the file's bytes.
//
// Invariants beyond "no crash":
// - UTF8Repair agrees with the standard library: classify says ascii/valid/invalid exactly as
//   the bytes are, and repair gives the bytes of String(decoding:as: UTF8.self).
// - One line out per line in (a newline-ended line, plus a non-empty last line on flush),
//   whatever the read sizes; a "\r" before the newline is dropped.
// - Every text is valid UTF-8 and at most maxLineBytes bytes.
// - A line not cut is exactly the repaired input line, so the outputs joined with newlines
//   rebuild the repaired input; a cut line is flagged, is a prefix of the repaired input line,
//   and lost at most 3 bytes below the bound (it is cut on a character boundary).
// - Each line's JSON fragment parses (JSONValue) to an object whose text is the line's text.
import TailcastCore

private func repairedByStdlib(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
    Array(String(decoding: bytes, as: UTF8.self).utf8)
}

private func repaired(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    Array(bytes).withUnsafeBytes { UTF8Repair.repair($0, into: &out) }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func lineSplitterFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let all = fuzzBytes(data, size)
    guard all.count >= 2 else { return 0 }
    let maxLineBytes = 16 + Int(all[0]) % 64
    var rng = UInt32(all[1]) &* 2_654_435_761 | 1
    let input = all[2...]

    // UTF8Repair against the standard library, on the whole input.
    let verdict = Array(input).withUnsafeBytes { UTF8Repair.classify($0) }
    let stdlibValid = String(validating: input, as: UTF8.self) != nil
    let expectedVerdict: UTF8Repair.Verdict = input.allSatisfy { $0 < 0x80 } ? .ascii : (stdlibValid ? .valid : .invalid)
    check(verdict == expectedVerdict, "classify says \(verdict), the bytes are \(expectedVerdict)")
    check(repaired(input) == repairedByStdlib(input), "UTF8Repair.repair differs from String(decoding:)")

    // Split in reads of 1 to 64 bytes, then build the block.
    var splitter = LineSplitter(maxLineBytes: maxLineBytes)
    var builder = LineBlockBuilder(source: "fuzz", nextSeq: 1, maxLineBytes: maxLineBytes)
    builder.stamp(Timestamp(microseconds: 1_700_000_000_123_456))
    var rawLines: [([UInt8], Bool)] = []
    let emit = { (line: UnsafeRawBufferPointer, truncated: Bool) in
        rawLines.append((Array(line), truncated))
        builder.append(line, truncated: truncated)
    }
    let bytes = Array(input)
    bytes.withUnsafeBytes { buf in
        var off = 0
        while off < buf.count {
            rng = rng &* 1_103_515_245 &+ 12345
            let n = min(buf.count - off, 1 + Int(rng >> 16) % 64)
            splitter.split(UnsafeRawBufferPointer(rebasing: buf[off..<off + n]), emit)
            off += n
        }
    }
    splitter.flush(emit)
    check(!splitter.hasPartialLine, "partial line held after flush")

    // The lines of the input, as a reader should see them.
    var expected = input.split(separator: 0x0A, omittingEmptySubsequences: false).map { line -> ArraySlice<UInt8> in
        line.last == 0x0D ? line.dropLast() : line
    }
    if let last = input.split(separator: 0x0A, omittingEmptySubsequences: false).last, last.isEmpty {
        expected.removeLast()
    }

    check(rawLines.count == expected.count, "\(rawLines.count) lines out for \(expected.count) in (max \(maxLineBytes))")
    let block = builder.finish()
    check((block?.count ?? 0) == rawLines.count, "block holds \(block?.count ?? 0) lines for \(rawLines.count) split")
    guard let block else { return 0 }

    var rebuilt: [UInt8] = []
    var anyCut = false
    for i in 0..<block.count {
        let text = block.withText(i) { Array($0) }
        let want = repaired(expected[i])
        check(String(validating: text, as: UTF8.self) != nil, "line \(i) is not valid UTF-8")
        check(text.count <= maxLineBytes, "line \(i) has \(text.count) bytes; the bound is \(maxLineBytes)")
        check(rawLines[i].0.count <= maxLineBytes + 4, "splitter handed out \(rawLines[i].0.count) bytes")

        let fragment = block.json.withUnsafeBufferPointer {
            Array($0[Int(block.records[i].jsonStart)..<Int(block.records[i].jsonStart + block.records[i].jsonLength)])
        }
        check(fragment.last == UInt8(ascii: ","), "fragment \(i) does not end with a comma")
        let parsed = try? JSONValue.parse(String(decoding: fragment.dropLast(), as: UTF8.self))
        guard case .object(let members)? = parsed else {
            check(false, "fragment \(i) is not a JSON object: \(show(String(decoding: fragment, as: UTF8.self)))")
            return 0
        }
        let jsonText = members.first { $0.0 == "text" }?.1
        check(
            jsonText.map { $0 == .string(String(decoding: text, as: UTF8.self)) } ?? false,
            "fragment \(i) text differs from the line's text")
        // Byte-exact: JSON strings compare by canonical equivalence, the bytes must not differ.
        if case .string(let s)? = jsonText { check(Array(s.utf8) == text, "fragment \(i) text bytes differ") }
        let cutFlag = members.contains { $0.0 == "truncated" && $0.1 == .bool(true) }

        if text == want {
            check(!cutFlag, "line \(i) flagged truncated but whole")
        } else {
            anyCut = true
            check(cutFlag, "line \(i) differs from the input line but is not flagged truncated")
            check(want.starts(with: text), "cut line \(i) is not a prefix of the input line")
            check(text.count >= maxLineBytes - 3, "cut line \(i) has \(text.count) bytes; the bound is \(maxLineBytes)")
        }
        if i > 0 { rebuilt.append(0x0A) }
        rebuilt += text
    }
    if !anyCut {
        let whole = repaired(ArraySlice(expected.joined(separator: [0x0A])))
        check(rebuilt == whole, "the lines joined do not rebuild the repaired input")
    }
    return 0
}
