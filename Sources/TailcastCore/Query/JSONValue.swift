/// A parsed JSON value: client messages are small, so a plain tree is enough.
///
/// Promises: strict RFC 8259 parsing (no trailing commas, no comments); booleans and numbers
/// stay distinct; nesting is bounded so a hostile message cannot exhaust the stack.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.map(\.0) == y.map(\.0) && x.map(\.1) == y.map(\.1)
        default: false
        }
    }

    /// Parses `text`; throws a message saying where it is malformed.
    public static func parse(_ text: String) throws(QueryError) -> JSONValue {
        var parser = Parser(bytes: Array(text.utf8))
        parser.skipSpace()
        let v = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.pos == parser.bytes.count else { throw parser.fail("unexpected data after the JSON value") }
        return v
    }

    private struct Parser {
        let bytes: [UInt8]
        var pos = 0

        func fail(_ what: String) -> QueryError {
            QueryError(code: "bad_message", param: nil, message: "malformed JSON at byte \(pos): \(what)")
        }

        mutating func skipSpace() {
            while pos < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[pos]) { pos += 1 }
        }

        mutating func literal(_ word: String, _ v: JSONValue) throws(QueryError) -> JSONValue {
            let w = Array(word.utf8)
            guard pos + w.count <= bytes.count, Array(bytes[pos..<pos + w.count]) == w else { throw fail("expected \(word)") }
            pos += w.count
            return v
        }

        mutating func value(depth: Int) throws(QueryError) -> JSONValue {
            guard depth < 32 else { throw fail("nested too deeply") }
            guard pos < bytes.count else { throw fail("unexpected end") }
            switch bytes[pos] {
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "["):
                pos += 1
                var items: [JSONValue] = []
                skipSpace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") {
                    pos += 1
                    return .array(items)
                }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard pos < bytes.count else { throw fail("unexpected end in array") }
                    if bytes[pos] == UInt8(ascii: ",") {
                        pos += 1
                        continue
                    }
                    if bytes[pos] == UInt8(ascii: "]") {
                        pos += 1
                        return .array(items)
                    }
                    throw fail("expected , or ] in array")
                }
            case UInt8(ascii: "{"):
                pos += 1
                var members: [(String, JSONValue)] = []
                skipSpace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") {
                    pos += 1
                    return .object(members)
                }
                while true {
                    skipSpace()
                    guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                    let key = try string()
                    skipSpace()
                    guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw fail("expected :") }
                    pos += 1
                    skipSpace()
                    members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    guard pos < bytes.count else { throw fail("unexpected end in object") }
                    if bytes[pos] == UInt8(ascii: ",") {
                        pos += 1
                        continue
                    }
                    if bytes[pos] == UInt8(ascii: "}") {
                        pos += 1
                        return .object(members)
                    }
                    throw fail("expected , or } in object")
                }
            default:
                return .number(try number())
            }
        }

        mutating func number() throws(QueryError) -> Double {
            let start = pos
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            let digitsStart = pos
            while pos < bytes.count, (0x30...0x39).contains(bytes[pos]) { pos += 1 }
            guard pos > digitsStart else { throw fail("expected a value") }
            if bytes[digitsStart] == 0x30, pos - digitsStart > 1 { throw fail("leading zero in number") }
            if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
                pos += 1
                let f = pos
                while pos < bytes.count, (0x30...0x39).contains(bytes[pos]) { pos += 1 }
                guard pos > f else { throw fail("expected digits after .") }
            }
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
                pos += 1
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
                let e = pos
                while pos < bytes.count, (0x30...0x39).contains(bytes[pos]) { pos += 1 }
                guard pos > e else { throw fail("expected exponent digits") }
            }
            guard let d = Double(String(decoding: bytes[start..<pos], as: UTF8.self)) else { throw fail("bad number") }
            return d
        }

        mutating func hex4() throws(QueryError) -> UInt32 {
            guard pos + 4 <= bytes.count else { throw fail("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[pos]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: throw fail("bad \\u escape")
                }
                v = v * 16 + d
                pos += 1
            }
            return v
        }

        mutating func string() throws(QueryError) -> String {
            pos += 1
            var out: [UInt8] = []
            while true {
                guard pos < bytes.count else { throw fail("unterminated string") }
                let c = bytes[pos]
                pos += 1
                switch c {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard pos < bytes.count else { throw fail("unterminated escape") }
                    let e = bytes[pos]
                    pos += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800...0xDBFF).contains(scalar), pos + 6 <= bytes.count,
                            bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u")
                        {
                            let next = pos
                            pos += 2
                            let low = try hex4()
                            if (0xDC00...0xDFFF).contains(low) {
                                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                // No pair: the lone high surrogate becomes U+FFFD below, and the
                                // escape after it is read again on its own, not dropped.
                                pos = next
                            }
                        }
                        let u = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                        out.append(contentsOf: Array(String(Character(u)).utf8))
                    default: throw fail("bad escape")
                    }
                case 0..<0x20:
                    throw fail("control character in string")
                default:
                    out.append(c)
                }
            }
        }
    }
}
