// libFuzzer target: a client message (a WebSocket text frame), through JSONValue.parse and,
// for an object, QueryParser.parse(message:) as the server does for `query` messages.
//
// Invariants beyond "no crash":
// - JSONValue.parse accepts or throws a QueryError with code bad_message and no param.
// - An accepted value, written back as JSON (by an independent writer here), parses to an
//   equal value; every string in it, written with the server's JSONString.quoted, parses back
//   to the same string (the server's writer and reader agree).
// - Nesting deeper than 32 is never accepted.
// - A message that is one JSON string decodes to what a reference decoder says (RFC 8259
//   escapes; a lone surrogate escape becomes U+FFFD and the escape after it stays its own).
// - QueryParser.parse(message:) returns a Query within the contract's bounds or a QueryError
//   whose param (when the message is an object) is one of the object's member names.
import TailcastCore

private let parser = QueryParser()

private func write(_ v: JSONValue, into out: inout String) -> Bool {
    switch v {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .number(let d):
        guard d.isFinite else { return false }  // 1e999 parses as infinity; JSON cannot say it
        out += "\(d)"
    case .string(let s): writeString(s, into: &out)
    case .array(let items):
        out += "["
        for (i, item) in items.enumerated() {
            if i > 0 { out += "," }
            guard write(item, into: &out) else { return false }
        }
        out += "]"
    case .object(let members):
        out += "{"
        for (i, (k, item)) in members.enumerated() {
            if i > 0 { out += ", " }
            writeString(k, into: &out)
            out += ":"
            guard write(item, into: &out) else { return false }
        }
        out += "}"
    }
    return true
}

private func writeString(_ s: String, into out: inout String) {
    out += "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\u{0}"..."\u{1F}":
            let h = String(u.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
        default: out.unicodeScalars.append(u)
        }
    }
    out += "\""
}

private func depth(_ v: JSONValue) -> Int {
    switch v {
    case .array(let items): 1 + (items.map(depth).max() ?? 0)
    case .object(let members): 1 + (members.map { depth($0.1) }.max() ?? 0)
    default: 0
    }
}

private func forEachString(_ v: JSONValue, _ body: (String) -> Void) {
    switch v {
    case .string(let s): body(s)
    case .array(let items):
        for item in items { forEachString(item, body) }
    case .object(let members):
        for (key, value) in members {
            body(key)
            forEachString(value, body)
        }
    default: break
    }
}

private func hexDigit(_ c: UInt8) -> UInt32? {
    switch c {
    case 0x30...0x39: UInt32(c - 0x30)
    case 0x41...0x46: UInt32(c - 0x41 + 10)
    case 0x61...0x66: UInt32(c - 0x61 + 10)
    default: nil
    }
}

/// The contents of the JSON string starting at `b[i]` (a quote), decoded; nil when malformed.
private func referenceString(_ b: [UInt8], from start: Int) -> [UInt8]? {
    var i = start + 1
    var out: [UInt8] = []
    func hex4(at k: Int) -> UInt32? {
        guard k + 4 <= b.count else { return nil }
        var v: UInt32 = 0
        for j in k..<k + 4 {
            guard let d = hexDigit(b[j]) else { return nil }
            v = v * 16 + d
        }
        return v
    }
    func append(_ v: UInt32) { out += Array(String(Character(Unicode.Scalar(v) ?? "\u{FFFD}")).utf8) }
    while i < b.count {
        let c = b[i]
        switch c {
        case 0x22: return out
        case 0x5C:
            guard i + 1 < b.count else { return nil }
            switch b[i + 1] {
            case 0x22, 0x5C, 0x2F: out.append(b[i + 1])
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard let v = hex4(at: i + 2) else { return nil }
                if (0xD800...0xDBFF).contains(v), i + 12 <= b.count, b[i + 6] == 0x5C, b[i + 7] == UInt8(ascii: "u"),
                    let low = hex4(at: i + 8), (0xDC00...0xDFFF).contains(low)
                {
                    append(0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00))
                    i += 12
                    continue
                }
                append(v)  // a lone surrogate is no scalar: U+FFFD
                i += 6
                continue
            default: return nil
            }
            i += 2
        case 0..<0x20: return nil
        default:
            out.append(c)
            i += 1
        }
    }
    return nil
}

@_cdecl("LLVMFuzzerTestOneInput")
public func clientMessageFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    let value: JSONValue
    do {
        value = try JSONValue.parse(text)
    } catch {
        check(
            error.code == "bad_message" && error.param == nil && !error.message.isEmpty,
            "JSON error with code \(error.code), param \(error.param ?? "nil")")
        return 0
    }
    check(depth(value) <= 32, "accepted JSON nested \(depth(value)) deep")
    if case .string(let decoded) = value {
        let bytes = Array(text.utf8)
        let start = bytes.firstIndex { !(0x20 == $0 || 0x09 == $0 || 0x0A == $0 || 0x0D == $0) } ?? 0
        let want = referenceString(bytes, from: start)
        check(
            want == Array(decoded.utf8),
            "string \(show(text)) decoded to \(show(decoded)), the reference says \(want.map { show(String(decoding: $0, as: UTF8.self)) } ?? "malformed")"
        )
    }

    var written = ""
    if write(value, into: &written) {
        do {
            let again = try JSONValue.parse(written)
            check(again == value, "round trip changed the value: \(show(text)) -> \(show(written))")
        } catch {
            check(false, "own output rejected: \(show(written)): \(error.message) (input \(show(text)))")
        }
    }
    forEachString(value) { s in
        let quoted = JSONString.quoted(s)
        let back = try? JSONValue.parse(quoted)
        check(back == .string(s), "JSONString.quoted(\(show(s))) = \(show(quoted)) does not parse back")
    }

    do {
        let q = try parser.parse(message: value)
        check(q.patterns.count + q.excludes.count <= parser.maxPatterns, "more than \(parser.maxPatterns) patterns accepted")
        for p in q.patterns + q.excludes {
            check(p.utf8.count <= parser.maxPatternBytes, "pattern of \(p.utf8.count) bytes accepted")
        }
        check((0...1_000_000).contains(q.backlog), "n out of range: \(q.backlog)")
        check((0...1000).contains(q.after) && (0...1000).contains(q.before), "A/B out of range")
        if let p = q.priority { check((0...7).contains(p), "priority out of range: \(p)") }
    } catch {
        guard case .object(let members) = value else {
            check(error.code == "bad_message", "non-object message gave code \(error.code)")
            return 0
        }
        guard let param = error.param else {
            check(false, "QueryError without param for an object message: \(error.message)")
            return 0
        }
        check(members.contains { $0.0 == param }, "QueryError names \(show(param)), not a member of the message")
        check(!param.isEmpty || members.contains { $0.0.isEmpty }, "QueryError with an empty param")
    }
    return 0
}
