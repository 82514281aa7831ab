// libFuzzer target: a client message (a WebSocket text frame), through JSONValue.parse and,
// for an object, QueryParser.parse(message:) as the server does for `query` messages.
//
// Invariants beyond "no crash":
// - JSONValue.parse accepts or throws a QueryError with code bad_message and no param.
// - An accepted value, written back as JSON (by an independent writer here), parses to an
//   equal value; every string in it, written with the server's JSONString.quoted, parses back
//   to the same string (the server's writer and reader agree).
// - Nesting deeper than 32 is never accepted.
// - QueryParser.parse(message:) returns a Query within the contract's bounds or a QueryError
//   whose param (when the message is an object) is one of the object's member names.
import TailcastCore

private let parser = QueryParser()

private func write(_ v: JSONValue, into out: inout String) -> Bool {
    switch v {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .number(let d):
        guard d.isFinite else { return false }   // 1e999 parses as infinity; JSON cannot say it
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
    case .array(let items): items.forEach { forEachString($0, body) }
    case .object(let members): members.forEach { body($0.0); forEachString($0.1, body) }
    default: break
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func clientMessageFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    let value: JSONValue
    do {
        value = try JSONValue.parse(text)
    } catch {
        check(error.code == "bad_message" && error.param == nil && !error.message.isEmpty,
              "JSON error with code \(error.code), param \(error.param ?? "nil")")
        return 0
    }
    check(depth(value) <= 32, "accepted JSON nested \(depth(value)) deep")

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
