/// A value of the TOML subset that tailcast's config uses.
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case bool(Bool)
    case array([TOMLValue])

    var typeName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .bool: "a boolean"
        case .array: "an array"
        }
    }
}

/// One `key = value` with the line it is on.
public struct TOMLEntry: Sendable, Equatable {
    public var key: String
    public var value: TOMLValue
    public var line: Int
}

/// One table (`[name]`, or one element of `[[name]]`), its entries in file order.
public struct TOMLTable: Sendable, Equatable {
    /// `""` for the top level.
    public var name: String
    public var isArrayElement: Bool
    public var line: Int
    public var entries: [TOMLEntry] = []
}

/// Parses the TOML subset of the config: `[table]`, `[[array-of-tables]]`, bare keys, basic and
/// literal strings, integers (with `_`), booleans and arrays (on one line or several), comments.
///
/// Promises: every error carries the line it is on; parsing goes on after an error so that all
/// problems are reported at once. Written by hand (rather than TOMLKit) so that every key, not
/// only syntax errors, keeps its line number.
public struct TOMLDocument: Sendable {
    public private(set) var tables: [TOMLTable] = []

    public static func parse(_ text: String) -> (TOMLDocument, [ConfigError]) {
        var doc = TOMLDocument()
        var errors: [ConfigError] = []
        doc.tables.append(TOMLTable(name: "", isArrayElement: false, line: 0))
        var seenTables: Set<String> = []
        // Split on the byte "\n" and drop a "\r" before it: "\r\n" is one Character, so a
        // Character split would leave a CRLF file one line long.
        let lines = Array(text.utf8).split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            Array(line.last == 0x0D ? line.dropLast() : line)
        }
        var n = 0
        while n < lines.count {
            let lineNo = n + 1
            var cursor = Cursor(bytes: lines[n])
            n += 1
            cursor.skipSpace()
            if cursor.atEndOrComment { continue }
            if cursor.peek == UInt8(ascii: "[") {
                let isArray = cursor.peek(1) == UInt8(ascii: "[")
                cursor.pos += isArray ? 2 : 1
                cursor.skipSpace()
                let name = cursor.dottedKey()
                cursor.skipSpace()
                let close = isArray ? "]]" : "]"
                guard !name.isEmpty, cursor.consume(close) else {
                    errors.append(ConfigError(line: lineNo, message: "malformed table header; expected [name] or [[name]]"))
                    continue
                }
                cursor.skipSpace()
                if !cursor.atEndOrComment {
                    errors.append(ConfigError(line: lineNo, message: "unexpected text after the table header"))
                }
                if !isArray {
                    if seenTables.contains(name) {
                        errors.append(ConfigError(line: lineNo, key: name, message: "table [\(name)] is defined twice"))
                    }
                    seenTables.insert(name)
                }
                doc.tables.append(TOMLTable(name: name, isArrayElement: isArray, line: lineNo))
                continue
            }
            let key = cursor.dottedKey()
            cursor.skipSpace()
            guard !key.isEmpty, cursor.consume("=") else {
                errors.append(ConfigError(line: lineNo, message: "expected key = value"))
                continue
            }
            cursor.skipSpace()
            // An array may continue on the following lines.
            var valueCursor = cursor
            if valueCursor.peek == UInt8(ascii: "["), !Self.bracketsBalanced(cursor) {
                var joined = Array(cursor.bytes[cursor.pos...])
                while n < lines.count {
                    joined.append(0x20)
                    joined += Self.stripComment(lines[n])
                    n += 1
                    if Self.bracketsBalanced(Cursor(bytes: joined)) { break }
                }
                valueCursor = Cursor(bytes: joined)
            }
            switch valueCursor.value(depth: 0) {
            case .success(let value):
                valueCursor.skipSpace()
                if !valueCursor.atEndOrComment {
                    errors.append(ConfigError(line: lineNo, key: key, message: "unexpected text after the value of \(key)"))
                    continue
                }
                let t = doc.tables.count - 1
                if doc.tables[t].entries.contains(where: { $0.key == key }) {
                    errors.append(ConfigError(line: lineNo, key: key, message: "key \(key) is set twice in the same table"))
                    continue
                }
                doc.tables[t].entries.append(TOMLEntry(key: key, value: value, line: lineNo))
            case .failure(let failure):
                errors.append(ConfigError(line: lineNo, key: key, message: "bad value for \(key): \(failure.message)"))
            }
        }
        return (doc, errors)
    }

    private static func stripComment(_ line: [UInt8]) -> [UInt8] {
        var inString: UInt8? = nil
        for (i, c) in line.enumerated() {
            if let q = inString {
                if c == q { inString = nil }
            } else if c == 0x22 || c == 0x27 {
                inString = c
            } else if c == UInt8(ascii: "#") {
                return Array(line[..<i])
            }
        }
        return line
    }

    private static func bracketsBalanced(_ c: Cursor) -> Bool {
        var depth = 0
        var inString: UInt8? = nil
        for c in c.bytes[c.pos...] {
            if let q = inString {
                if c == q { inString = nil }
                continue
            }
            switch c {
            case 0x22, 0x27: inString = c
            case UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: "#"): return depth <= 0
            default: break
            }
        }
        return depth <= 0
    }

    struct Cursor {
        let bytes: [UInt8]
        var pos = 0

        var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }
        func peek(_ k: Int) -> UInt8? { pos + k < bytes.count ? bytes[pos + k] : nil }
        var atEndOrComment: Bool { peek == nil || peek == UInt8(ascii: "#") || peek == 0x0D }

        mutating func skipSpace() {
            while let c = peek, c == 0x20 || c == 0x09 { pos += 1 }
        }

        mutating func consume(_ s: String) -> Bool {
            let w = Array(s.utf8)
            guard pos + w.count <= bytes.count, Array(bytes[pos..<pos + w.count]) == w else { return false }
            pos += w.count
            return true
        }

        mutating func dottedKey() -> String {
            var parts: [String] = []
            while true {
                skipSpace()
                let start = pos
                while let c = peek, (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c)
                    || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") { pos += 1 }
                guard pos > start else { return "" }
                parts.append(String(decoding: bytes[start..<pos], as: UTF8.self))
                skipSpace()
                if peek == UInt8(ascii: ".") { pos += 1; continue }
                return parts.joined(separator: ".")
            }
        }

        mutating func value(depth: Int) -> Result<TOMLValue, TOMLSyntaxError> {
            guard depth < 8 else { return .failure("arrays nested too deeply") }
            guard let c = peek else { return .failure("missing value") }
            switch c {
            case 0x22:
                return basicString().map { .string($0) }
            case 0x27:
                pos += 1
                let start = pos
                while let d = peek, d != 0x27 { pos += 1 }
                guard peek == 0x27 else { return .failure("unterminated string") }
                let s = String(decoding: bytes[start..<pos], as: UTF8.self)
                pos += 1
                return .success(.string(s))
            case UInt8(ascii: "["):
                pos += 1
                var items: [TOMLValue] = []
                while true {
                    skipSpace()
                    if peek == UInt8(ascii: "]") { pos += 1; return .success(.array(items)) }
                    switch value(depth: depth + 1) {
                    case .success(let v): items.append(v)
                    case .failure(let f): return .failure(f)
                    }
                    skipSpace()
                    if peek == UInt8(ascii: ",") { pos += 1; continue }
                    if peek == UInt8(ascii: "]") { pos += 1; return .success(.array(items)) }
                    return .failure("expected , or ] in array")
                }
            case UInt8(ascii: "t"):
                return consume("true") ? .success(.bool(true)) : .failure("expected true")
            case UInt8(ascii: "f"):
                return consume("false") ? .success(.bool(false)) : .failure("expected false")
            default:
                let start = pos
                if peek == UInt8(ascii: "-") || peek == UInt8(ascii: "+") { pos += 1 }
                while let d = peek, (0x30...0x39).contains(d) || d == UInt8(ascii: "_") { pos += 1 }
                let text = String(decoding: bytes[start..<pos], as: UTF8.self).replacingOccurrences("_", "")
                if let n = Int(text), pos > start {
                    if let d = peek, d == UInt8(ascii: ".") || d == UInt8(ascii: "e") || d == UInt8(ascii: "E") {
                        return .failure("only whole numbers are used here")
                    }
                    return .success(.integer(n))
                }
                return .failure("expected a string in quotes, a number, true, false or an array")
            }
        }

        mutating func basicString() -> Result<String, TOMLSyntaxError> {
            pos += 1
            var out: [UInt8] = []
            while let c = peek {
                pos += 1
                switch c {
                case 0x22: return .success(String(decoding: out, as: UTF8.self))
                case 0x5C:
                    guard let e = peek else { return .failure("unterminated escape") }
                    pos += 1
                    switch e {
                    case 0x22: out.append(0x22)
                    case 0x5C: out.append(0x5C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "u"), UInt8(ascii: "U"):
                        let width = e == UInt8(ascii: "u") ? 4 : 8
                        guard pos + width <= bytes.count,
                              let v = UInt32(String(decoding: bytes[pos..<pos + width], as: UTF8.self), radix: 16),
                              let scalar = Unicode.Scalar(v) else { return .failure("bad unicode escape") }
                        pos += width
                        out += Array(String(Character(scalar)).utf8)
                    default: return .failure(TOMLSyntaxError("unknown escape \\\(Character(Unicode.Scalar(e)))"))
                    }
                default: out.append(c)
                }
            }
            return .failure("unterminated string")
        }
    }
}

extension String {
    func replacingOccurrences(_ target: Character, _ replacement: String) -> String {
        var out = ""
        for ch in self { if ch == target { out += replacement } else { out.append(ch) } }
        return out
    }
}

/// A syntax problem inside one value.
public struct TOMLSyntaxError: Error, Sendable, ExpressibleByStringLiteral {
    public var message: String
    public init(stringLiteral value: String) { message = value }
    public init(_ message: String) { self.message = message }
}
