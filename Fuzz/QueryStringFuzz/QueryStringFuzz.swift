// libFuzzer target: the `/ws` query string, through QueryString.parse and QueryParser.
//
// Invariants beyond "no crash":
// - QueryString agrees with a byte-level reference decoder (split on `&` bytes, first `=` byte,
//   `+` is a space, `%XX` a byte, malformed escapes kept).
// - QueryString round trip: percent-encoding every decoded (name, value) pair and parsing the
//   result again gives the same pairs.
// - QueryParser returns a Query within every bound of the contract, or a QueryError with code
//   bad_query whose `param` names one of the parameters given, and is non-empty unless the
//   input itself has a parameter with an empty name (`=x`: the server then says param "",
//   which is the truth about that input).
import TailcastCore

private let parser = QueryParser()

private func percentEncode(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(b))
        default:
            let hex = Array("0123456789ABCDEF".utf8)
            out += "%" + String(decoding: [hex[Int(b >> 4)], hex[Int(b & 15)]], as: UTF8.self)
        }
    }
    return out
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: c - 0x30
    case 0x41...0x46: c - 0x41 + 10
    case 0x61...0x66: c - 0x61 + 10
    default: nil
    }
}

/// The reference: application/x-www-form-urlencoded decoding on bytes.
private func referenceParse(_ bytes: [UInt8]) -> [(String, String)] {
    func decode(_ s: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == UInt8(ascii: "+") {
                out.append(0x20)
            } else if c == UInt8(ascii: "%"), i + 2 < s.endIndex, let hi = hexValue(s[i + 1]), let lo = hexValue(s[i + 2]) {
                out.append(hi << 4 | lo)
                i += 2
            } else {
                out.append(c)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
    return bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true).map { pair in
        if let eq = pair.firstIndex(of: UInt8(ascii: "=")) {
            return (decode(pair[..<eq]), decode(pair[(eq + 1)...]))
        }
        return (decode(pair), "")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func queryStringFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let raw = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    let params = QueryString.parse(raw)

    // Same pairs as the byte-level reference (on the bytes the server sees: valid UTF-8).
    let reference = referenceParse(Array(raw.utf8))
    check(
        reference.count == params.count && zip(reference, params).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 },
        "QueryString.parse(\(show(raw))) = \(params.map { "\(show($0.0))=\(show($0.1))" }) but the bytes say \(reference.map { "\(show($0.0))=\(show($0.1))" })"
    )

    // Round trip of the decoder.
    let encoded = params.map { percentEncode($0.0) + "=" + percentEncode($0.1) }.joined(separator: "&")
    let again = QueryString.parse(encoded)
    check(again.count == params.count, "round trip changed the parameter count: \(params.count) -> \(again.count)")
    for (a, b) in zip(params, again) {
        check(a.0 == b.0 && a.1 == b.1, "round trip changed \(show(a.0))=\(show(a.1)) into \(show(b.0))=\(show(b.1))")
    }

    do {
        let q = try parser.parse(parameters: params)
        check(q.patterns.count + q.excludes.count <= parser.maxPatterns, "more than \(parser.maxPatterns) patterns accepted")
        for p in q.patterns + q.excludes {
            check(p.utf8.count <= parser.maxPatternBytes, "pattern of \(p.utf8.count) bytes accepted")
        }
        check((0...1_000_000).contains(q.backlog), "n out of range: \(q.backlog)")
        check((0...1000).contains(q.after) && (0...1000).contains(q.before), "A/B out of range: \(q.after) \(q.before)")
        if let p = q.priority { check((0...7).contains(p), "priority out of range: \(p)") }
        for s in q.sources { check(!s.isEmpty && !s.contains(","), "bad source name \(show(s))") }
        for r in q.since {
            check(!r.source.isEmpty, "empty since source")
            if let e = r.epoch { check(QueryParser.isEpoch(e), "bad epoch \(show(e))") }
        }
    } catch {
        check(error.code == "bad_query", "code \(error.code) for a query-string error")
        guard let param = error.param else {
            check(false, "QueryError without param: \(error.message)")
            return 0
        }
        check(!param.isEmpty || params.contains { $0.0.isEmpty }, "QueryError with an empty param: \(error.message) (input \(show(raw)))")
        check(params.contains { $0.0 == param }, "QueryError names \(show(param)), not one of the parameters given")
        check(!error.message.isEmpty, "QueryError without a message")
    }
    return 0
}
