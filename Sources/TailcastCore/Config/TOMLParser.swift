/// A TOML 1.0 parser (https://toml.io/en/v1.0.0) that keeps the line of every key and value.
///
/// Promises: accepts exactly TOML 1.0; every error names the line it is on; after an error it
/// goes on at the next line, so that one run reports every problem it can. Nesting of arrays
/// and inline tables is bounded (``maxDepth``), so no input can exhaust the stack.
struct TOMLParser {
    /// Arrays and inline tables nest at most this deep.
    static let maxDepth = 32

    private let bytes: [UInt8]
    private var pos = 0
    private var line = 1
    private var errors: [ConfigError] = []
    private let root = TOMLTableBuilder(line: 0, origin: .header)
    /// The table that `key = value` lines go into: the root, or that of the last header.
    private var current: TOMLTableBuilder

    /// A syntax or structure error at `line`.
    struct Failure: Error {
        var line: Int
        var key: String?
        var message: String
    }

    init(_ text: String) {
        bytes = Array(text.utf8)
        current = root
    }

    /// The root table and every error, in file order.
    mutating func parse() -> (TOMLTable, [ConfigError]) {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { pos = 3 }  // a UTF-8 byte order mark
        while true {
            skipSpace()
            guard let c = peek else { break }
            do {
                switch c {
                case LF, CR, HASH:
                    try endOfLine(after: "")
                case LBRACKET:
                    try header()
                    try endOfLine(after: "the table header")
                default:
                    try keyValue()
                }
            } catch {
                errors.append(ConfigError(line: error.line, key: error.key, message: error.message))
                skipToNextLine()
            }
        }
        return (root.build(), errors)
    }

    // MARK: Statements

    /// `key = value` in the current table, up to the end of its line.
    private mutating func keyValue() throws(Failure) {
        let keyLine = line
        let parts = try key()
        let name = Self.display(parts)
        guard peek == EQUALS else {
            throw fail(
                peek == nil || peek == LF || peek == CR
                    ? "expected key = value; \(name) has no = and no value"
                    : "expected = after the key \(name); found \(describe(peek))", key: name)
        }
        pos += 1
        skipSpace()
        let v: TOMLValue
        do {
            v = try value(depth: 0)
        } catch {
            throw Failure(line: error.line, key: name, message: "bad value for \(name): \(error.message)")
        }
        try assign(parts, v, line: keyLine, in: current)
        do {
            try endOfLine(after: "the value of \(name)")
        } catch {
            throw Failure(line: error.line, key: name, message: error.message)
        }
    }

    /// `[a.b]` or `[[a.b]]`; the header's table becomes the current one.
    private mutating func header() throws(Failure) {
        let headerLine = line
        // Until the header is known to be good, keys go into a table that is thrown away, so
        // one bad header is one error, not one per key below it.
        current = TOMLTableBuilder(line: headerLine, origin: .header)
        pos += 1
        let isArray = peek == LBRACKET
        if isArray { pos += 1 }
        let parts = try key()
        let name = Self.display(parts)
        guard peek == RBRACKET, !isArray || peek(1) == RBRACKET else {
            throw fail(isArray ? "expected ]] to close the header [[\(name)]]" : "expected ] to close the header [\(name)]", key: name)
        }
        pos += isArray ? 2 : 1
        var t = root
        for i in parts.indices.dropLast() {
            let path = Self.display(parts[...i])
            switch t[parts[i]] {
            case nil:
                let n = TOMLTableBuilder(line: headerLine, origin: .implicit)
                t[parts[i]] = .table(n)
                t = n
            case .table(let n):
                t = n
            case .tables(let ts, _):
                t = ts[ts.count - 1]
            case .value(.table, let l):
                throw fail("\(path) is an inline table (line \(l)), which cannot be extended", key: name)
            case .value(_, let l):
                throw fail("\(path) already holds a value (line \(l)), not a table", key: name)
            }
        }
        let last = parts[parts.count - 1]
        let made = TOMLTableBuilder(line: headerLine, origin: .header)
        if isArray {
            switch t[last] {
            case nil:
                t[last] = .tables([made], line: headerLine)
            case .tables(let ts, let l):
                t[last] = .tables(ts + [made], line: l)
            case .table(let n):
                throw fail("[[\(name)]] adds to an array of tables, but \(name) is a table (line \(n.line))", key: name)
            case .value(_, let l):
                throw fail("[[\(name)]]: \(name) already holds a value (line \(l)), which [[\(name)]] cannot add to", key: name)
            }
            current = made
        } else {
            switch t[last] {
            case nil:
                t[last] = .table(made)
                current = made
            case .table(let n) where n.origin == .implicit:
                n.origin = .header
                n.line = headerLine
                current = n
            case .table(let n) where n.origin == .dotted:
                throw fail("table [\(name)] is already defined by dotted keys on line \(n.line)", key: name)
            case .table(let n):
                throw fail("table [\(name)] is defined twice (first on line \(n.line))", key: name)
            case .tables(_, let l):
                throw fail("[\(name)] is an array of tables (first [[\(name)]] on line \(l)); add to it with [[\(name)]]", key: name)
            case .value(_, let l):
                throw fail("table [\(name)]: \(name) already holds a value (line \(l))", key: name)
            }
        }
    }

    /// Puts `value` at the dotted key `parts` below `table`, making the tables on the way.
    private func assign(_ parts: [String], _ value: TOMLValue, line keyLine: Int, in table: TOMLTableBuilder) throws(Failure) {
        let name = Self.display(parts)
        var t = table
        for i in parts.indices.dropLast() {
            let path = Self.display(parts[...i])
            switch t[parts[i]] {
            case nil:
                let n = TOMLTableBuilder(line: keyLine, origin: .dotted)
                t[parts[i]] = .table(n)
                t = n
            case .table(let n) where n.origin == .dotted || n.origin == .implicit:
                // A prefix of a header (`b` of `[a.b.c]`) is not defined yet: dotted keys define it.
                if n.origin == .implicit {
                    n.origin = .dotted
                    n.line = keyLine
                }
                t = n
            case .table(let n):
                throw Failure(
                    line: keyLine, key: name, message: "table \(path) is defined on line \(n.line); the dotted key \(name) cannot add to it"
                )
            case .tables(_, let l):
                throw Failure(
                    line: keyLine, key: name, message: "\(path) is an array of tables (line \(l)); the dotted key \(name) cannot add to it")
            case .value(.table, let l):
                throw Failure(line: keyLine, key: name, message: "\(path) is an inline table (line \(l)), which cannot be extended")
            case .value(_, let l):
                throw Failure(line: keyLine, key: name, message: "\(path) already holds a value (line \(l)), not a table")
            }
        }
        let last = parts[parts.count - 1]
        if let existing = t[last] {
            throw Failure(line: keyLine, key: name, message: "key \(name) is defined twice (first on line \(existing.line))")
        }
        t[last] = .value(value, line: keyLine)
    }

    // MARK: Keys

    /// A dotted key (`a."b.c".'d'`), its parts unquoted; leaves `pos` after trailing spaces.
    private mutating func key() throws(Failure) -> [String] {
        var parts: [String] = []
        while true {
            skipSpace()
            parts.append(try simpleKey())
            skipSpace()
            guard peek == DOT else { return parts }
            pos += 1
        }
    }

    private mutating func simpleKey() throws(Failure) -> String {
        switch peek {
        case QUOTE:
            if isAt(#"""""#) { throw fail("a key cannot be a multi-line string") }
            return try basicString()
        case APOSTROPHE:
            if isAt("'''") { throw fail("a key cannot be a multi-line string") }
            return try literalString()
        default:
            let start = pos
            while let c = peek, Self.isBareKeyByte(c) { pos += 1 }
            guard pos > start else {
                throw fail("expected a key (A-Z a-z 0-9 _ -, or a quoted key); found \(describe(peek))")
            }
            return String(decoding: bytes[start..<pos], as: UTF8.self)
        }
    }

    /// A key as written in messages: bare parts as they are, others quoted.
    static func display<C: Collection>(_ parts: C) -> String where C.Element == String {
        parts.map { p in
            !p.isEmpty && p.utf8.allSatisfy(isBareKeyByte) ? p : JSONString.quoted(p)
        }.joined(separator: ".")
    }

    static func isBareKeyByte(_ c: UInt8) -> Bool {
        isDecimalDigit(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == 0x5F || c == 0x2D
    }

    // MARK: Values

    private mutating func value(depth: Int) throws(Failure) -> TOMLValue {
        guard depth <= Self.maxDepth else {
            throw fail("arrays and inline tables nest more than \(Self.maxDepth) deep")
        }
        switch peek {
        case QUOTE:
            return .string(isAt(#"""""#) ? try multiLineString(quote: QUOTE) : try basicString())
        case APOSTROPHE:
            return .string(isAt("'''") ? try multiLineString(quote: APOSTROPHE) : try literalString())
        case LBRACKET:
            return try array(depth: depth)
        case LBRACE:
            return try inlineTable(depth: depth)
        case UInt8(ascii: "t") where isAt("true"):
            pos += 4
            return .bool(true)
        case UInt8(ascii: "f") where isAt("false"):
            pos += 5
            return .bool(false)
        case let c? where Self.isDecimalDigit(c) || c == PLUS || c == MINUS || c == UInt8(ascii: "i") || c == UInt8(ascii: "n"):
            return try numberOrDateTime()
        default:
            throw fail(
                "expected a value (a string in quotes, a number, true, false, a date, an array [ … ] or an inline table { … }); found \(describe(peek))"
            )
        }
    }

    private mutating func array(depth: Int) throws(Failure) -> TOMLValue {
        let openLine = line
        pos += 1
        var items: [TOMLValue] = []
        var lines: [Int] = []
        while true {
            try skipBlank()
            if peek == RBRACKET { break }
            if peek == nil { throw fail("unterminated array (opened on line \(openLine))") }
            lines.append(line)
            items.append(try value(depth: depth + 1))
            try skipBlank()
            if peek == COMMA {
                pos += 1
                continue
            }
            if peek == RBRACKET { break }
            if peek == nil { throw fail("unterminated array (opened on line \(openLine))") }
            throw fail("expected , or ] in the array opened on line \(openLine); found \(describe(peek))")
        }
        pos += 1
        return .array(TOMLArray(items: items, lines: lines))
    }

    private mutating func inlineTable(depth: Int) throws(Failure) -> TOMLValue {
        let openLine = line
        pos += 1
        let table = TOMLTableBuilder(line: openLine, origin: .header)
        skipSpace()
        if peek == RBRACE {
            pos += 1
            return .table(table.build())
        }
        while true {
            skipSpace()
            if peek == nil || peek == LF || peek == CR {
                throw fail("an inline table must end with } on the line it starts on (line \(openLine)); only values in it may span lines")
            }
            let keyLine = line
            let parts = try key()
            guard peek == EQUALS else {
                throw fail("expected = after the key \(Self.display(parts)) in the inline table; found \(describe(peek))")
            }
            pos += 1
            skipSpace()
            let v = try value(depth: depth + 1)
            try assign(parts, v, line: keyLine, in: table)
            skipSpace()
            switch peek {
            case COMMA:
                pos += 1
                skipSpace()
                if peek == RBRACE { throw fail("an inline table takes no comma after its last key = value") }
            case RBRACE:
                pos += 1
                return .table(table.build())
            case nil, LF, CR:
                throw fail("an inline table must end with } on the line it starts on (line \(openLine)); only values in it may span lines")
            default:
                throw fail("expected , or } in the inline table; found \(describe(peek))")
            }
        }
    }

    // MARK: Strings

    /// `"…"`, with escapes.
    private mutating func basicString() throws(Failure) -> String {
        pos += 1
        var out: [UInt8] = []
        while let c = peek {
            switch c {
            case QUOTE:
                pos += 1
                return String(decoding: out, as: UTF8.self)
            case BACKSLASH:
                try escape(into: &out)
            case LF, CR:
                throw fail("unterminated string: \"…\" ends on its own line (\"\"\"…\"\"\" spans lines)")
            default:
                try checkNotControl(c, in: "a string")
                out.append(c)
                pos += 1
            }
        }
        throw fail("unterminated string")
    }

    /// `'…'`, taken as it is.
    private mutating func literalString() throws(Failure) -> String {
        pos += 1
        let start = pos
        while let c = peek {
            switch c {
            case APOSTROPHE:
                pos += 1
                return String(decoding: bytes[start..<pos - 1], as: UTF8.self)
            case LF, CR:
                throw fail("unterminated string: '…' ends on its own line ('''…''' spans lines)")
            default:
                try checkNotControl(c, in: "a string")
                pos += 1
            }
        }
        throw fail("unterminated string")
    }

    /// `"""…"""` (with escapes and line-ending backslashes) or `'''…'''`. A newline right after
    /// the opening quotes is dropped; CRLF is read as LF.
    private mutating func multiLineString(quote: UInt8) throws(Failure) -> String {
        let openLine = line
        pos += 3
        if peek == LF {
            pos += 1
            line += 1
        } else if peek == CR, peek(1) == LF {
            pos += 2
            line += 1
        }
        var out: [UInt8] = []
        while let c = peek {
            switch c {
            case quote:
                var n = 0
                while peek(n) == quote { n += 1 }
                if n >= 3 {
                    // Up to two quotes may stand right before the closing three.
                    guard n <= 5 else { throw fail("\(n) quotes in a row in a multi-line string; at most 2 may precede the closing 3") }
                    out += repeatElement(quote, count: n - 3)
                    pos += n
                    return String(decoding: out, as: UTF8.self)
                }
                out += repeatElement(quote, count: n)
                pos += n
            case BACKSLASH where quote == QUOTE:
                var k = pos + 1
                while k < bytes.count, bytes[k] == SPACE || bytes[k] == TAB { k += 1 }
                if k < bytes.count, bytes[k] == LF || (bytes[k] == CR && k + 1 < bytes.count && bytes[k + 1] == LF) {
                    // A line-ending backslash: drop it and every space and newline after it.
                    pos = k
                    while let d = peek {
                        if d == SPACE || d == TAB {
                            pos += 1
                        } else if d == LF {
                            pos += 1
                            line += 1
                        } else if d == CR, peek(1) == LF {
                            pos += 2
                            line += 1
                        } else {
                            break
                        }
                    }
                } else {
                    try escape(into: &out)
                }
            case LF:
                out.append(LF)
                pos += 1
                line += 1
            case CR where peek(1) == LF:
                out.append(LF)
                pos += 2
                line += 1
            default:
                try checkNotControl(c, in: "a string")
                out.append(c)
                pos += 1
            }
        }
        throw fail("unterminated multi-line string (opened on line \(openLine))")
    }

    /// One escape sequence of a basic string; `pos` is on the backslash.
    private mutating func escape(into out: inout [UInt8]) throws(Failure) {
        pos += 1
        guard let e = peek else { throw fail("unterminated string") }
        pos += 1
        switch e {
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "r"): out.append(0x0D)
        case QUOTE: out.append(QUOTE)
        case BACKSLASH: out.append(BACKSLASH)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let width = e == UInt8(ascii: "u") ? 4 : 8
            let name = e == UInt8(ascii: "u") ? "\\u" : "\\U"
            guard pos + width <= bytes.count, bytes[pos..<pos + width].allSatisfy(Self.isHexDigit) else {
                throw fail("\(name) takes exactly \(width) hex digits")
            }
            let hex = String(decoding: bytes[pos..<pos + width], as: UTF8.self)
            guard let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) else {
                throw fail("\(name)\(hex) is not a Unicode scalar value (surrogates D800-DFFF and values above 10FFFF are not)")
            }
            UTF8.encode(scalar) { out.append($0) }
            pos += width
        default:
            pos -= 1
            throw fail(
                "unknown escape \\\(describe(e, quoted: false)); escapes are \\b \\t \\n \\f \\r \\\" \\\\ \\uHHHH \\UHHHHHHHH (H: a hex digit)"
            )
        }
    }

    // MARK: Numbers, dates and times

    private mutating func numberOrDateTime() throws(Failure) -> TOMLValue {
        let start = pos
        while let c = peek, Self.isTokenByte(c) { pos += 1 }
        // A date, a space and a time: one date-time ("1979-05-27 07:32:00Z").
        if pos - start == 10, Self.isDate(bytes[start..<pos]), peek == SPACE,
            let h1 = peek(1), let h2 = peek(2), Self.isDecimalDigit(h1), Self.isDecimalDigit(h2), peek(3) == COLON
        {
            pos += 1
            while let c = peek, Self.isTokenByte(c) { pos += 1 }
        }
        let token = bytes[start..<pos]
        let text = String(decoding: token, as: UTF8.self)
        if token.count >= 10, Self.isDate(token.prefix(10)) {
            guard let v = Self.dateTime(token) else {
                throw fail("\(text) is not a valid date-time (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS[.frac][Z|±HH:MM])")
            }
            return .dateTime(v)
        }
        if token.count >= 3, Self.isDecimalDigit(token[start]), Self.isDecimalDigit(token[start + 1]), token[start + 2] == COLON {
            guard let (time, rest) = Self.time(token), rest.isEmpty else {
                throw fail("\(text) is not a valid local time (HH:MM:SS[.frac])")
            }
            return .dateTime(TOMLDateTime(time: time))
        }
        return try Self.number(token, text: text, line: line)
    }

    private static func number(_ token: ArraySlice<UInt8>, text: String, line: Int) throws(Failure) -> TOMLValue {
        func fail(_ m: String) -> Failure { Failure(line: line, message: m) }
        var body = token
        var negative = false
        let signed = body.first == PLUS || body.first == MINUS
        if signed {
            negative = body.first == MINUS
            body = body.dropFirst()
        }
        if body.elementsEqual("inf".utf8) { return .float(negative ? -.infinity : .infinity) }
        if body.elementsEqual("nan".utf8) { return .float(.nan) }
        if body.count >= 2, body.first == UInt8(ascii: "0"),
            let (radix, name) = [
                UInt8(ascii: "x"): (16, "hexadecimal"), UInt8(ascii: "o"): (8, "octal"), UInt8(ascii: "b"): (2, "binary"),
            ][body[body.startIndex + 1]]
        {
            guard !signed else { throw fail("\(text): hexadecimal, octal and binary integers take no sign") }
            let digits = body.dropFirst(2)
            let isDigit: (UInt8) -> Bool = { c in
                radix == 16 ? isHexDigit(c) : radix == 8 ? (0x30...0x37).contains(c) : c == 0x30 || c == 0x31
            }
            guard underscoresBetweenDigits(digits, isDigit) else {
                throw fail("\(text) is not a valid \(name) integer (digits, with _ only between two digits)")
            }
            guard let n = Int(String(decoding: digits.filter { $0 != UNDERSCORE }, as: UTF8.self), radix: radix) else {
                throw fail("\(text) is out of range for a 64-bit integer")
            }
            return .integer(n)
        }
        // Decimal: integer part, then an optional fraction and exponent.
        let intEnd = body.firstIndex { $0 == DOT || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") } ?? body.endIndex
        let intPart = body[..<intEnd]
        guard underscoresBetweenDigits(intPart, isDecimalDigit) else {
            throw fail("\(text) is not a number (digits, with _ only between two digits)")
        }
        if intPart.count > 1, intPart.first == UInt8(ascii: "0") {
            throw fail("\(text): leading zeros are not allowed")
        }
        var rest = body[intEnd...]
        if rest.isEmpty {
            guard let n = Int(String(decoding: token.filter { $0 != UNDERSCORE }, as: UTF8.self)) else {
                throw fail("\(text) is out of range for a 64-bit integer")
            }
            return .integer(n)
        }
        if rest.first == DOT {
            rest = rest.dropFirst()
            let fracEnd = rest.firstIndex { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") } ?? rest.endIndex
            guard underscoresBetweenDigits(rest[..<fracEnd], isDecimalDigit) else {
                throw fail("\(text) is not a float: a digit must follow the decimal point")
            }
            rest = rest[fracEnd...]
        }
        if let e = rest.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            rest = rest.dropFirst()
            if rest.first == PLUS || rest.first == MINUS { rest = rest.dropFirst() }
            guard underscoresBetweenDigits(rest, isDecimalDigit) else {
                throw fail("\(text) is not a float: the exponent needs digits")
            }
            rest = rest[rest.endIndex...]
        }
        guard rest.isEmpty, let d = Double(String(decoding: token.filter { $0 != UNDERSCORE }, as: UTF8.self)) else {
            throw fail("\(text) is not a number")
        }
        return .float(d)
    }

    /// One or more digits, each `_` between two digits.
    private static func underscoresBetweenDigits(_ s: ArraySlice<UInt8>, _ isDigit: (UInt8) -> Bool) -> Bool {
        guard let first = s.first, let last = s.last, isDigit(first), isDigit(last) else { return false }
        var previousUnderscore = false
        for c in s {
            if c == UNDERSCORE {
                if previousUnderscore { return false }
                previousUnderscore = true
            } else if isDigit(c) {
                previousUnderscore = false
            } else {
                return false
            }
        }
        return true
    }

    /// `YYYY-MM-DD` shape (not yet checked for a real date).
    private static func isDate(_ t: ArraySlice<UInt8>) -> Bool {
        let a = Array(t)
        return a.count == 10 && a[4] == MINUS && a[7] == MINUS
            && [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy { isDecimalDigit(a[$0]) }
    }

    private static func dateTime(_ token: ArraySlice<UInt8>) -> TOMLDateTime? {
        let a = Array(token)
        func num(_ i: Int, _ n: Int) -> Int { a[i..<i + n].reduce(0) { $0 * 10 + Int($1 - 0x30) } }
        let (y, m, d) = (num(0, 4), num(5, 2), num(8, 2))
        guard (1...12).contains(m), (1...CivilTime.daysInMonth(year: y, month: m)).contains(d) else { return nil }
        var v = TOMLDateTime(date: .init(year: y, month: m, day: d))
        guard a.count > 10 else { return v }
        guard [UInt8(ascii: "T"), UInt8(ascii: "t"), SPACE].contains(a[10]),
            let (time, rest) = time(token.dropFirst(11))
        else { return nil }
        v.time = time
        let r = Array(rest)
        if r.isEmpty { return v }
        if r == [UInt8(ascii: "Z")] || r == [UInt8(ascii: "z")] {
            v.offsetMinutes = 0
            return v
        }
        guard r.count == 6, r[0] == PLUS || r[0] == MINUS, r[3] == COLON,
            [1, 2, 4, 5].allSatisfy({ isDecimalDigit(r[$0]) })
        else { return nil }
        let (oh, om) = (Int(r[1] - 0x30) * 10 + Int(r[2] - 0x30), Int(r[4] - 0x30) * 10 + Int(r[5] - 0x30))
        guard oh <= 23, om <= 59 else { return nil }
        v.offsetMinutes = (r[0] == MINUS ? -1 : 1) * (oh * 60 + om)
        return v
    }

    /// `HH:MM:SS[.frac]` at the start of `t`, and what follows it.
    private static func time(_ t: ArraySlice<UInt8>) -> (TOMLDateTime.LocalTime, ArraySlice<UInt8>)? {
        let a = Array(t.prefix(8))
        guard a.count == 8, a[2] == COLON, a[5] == COLON, [0, 1, 3, 4, 6, 7].allSatisfy({ isDecimalDigit(a[$0]) }) else { return nil }
        func num(_ i: Int) -> Int { Int(a[i] - 0x30) * 10 + Int(a[i + 1] - 0x30) }
        var time = TOMLDateTime.LocalTime(hour: num(0), minute: num(3), second: num(6))
        guard time.hour <= 23, time.minute <= 59, time.second <= 60 else { return nil }
        var rest = t.dropFirst(8)
        if rest.first == DOT {
            let digits = rest.dropFirst().prefix(while: isDecimalDigit)
            guard !digits.isEmpty else { return nil }
            var nanos = 0
            for (i, c) in digits.prefix(9).enumerated() {
                nanos += Int(c - 0x30) * [100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1000, 100, 10, 1][i]
            }
            time.nanosecond = nanos
            rest = rest.dropFirst(1 + digits.count)
        }
        return (time, rest)
    }

    // MARK: Blanks, comments and line ends

    private mutating func skipSpace() {
        while let c = peek, c == SPACE || c == TAB { pos += 1 }
    }

    /// Spaces, newlines and comments (inside arrays).
    private mutating func skipBlank() throws(Failure) {
        while let c = peek {
            switch c {
            case SPACE, TAB: pos += 1
            case LF:
                pos += 1
                line += 1
            case CR:
                guard peek(1) == LF else { throw fail("a carriage return (U+000D) must be followed by a line feed") }
                pos += 2
                line += 1
            case HASH: try comment()
            default: return
            }
        }
    }

    /// `# …` up to (not including) the line end.
    private mutating func comment() throws(Failure) {
        pos += 1
        while let c = peek, c != LF {
            if c == CR, peek(1) == LF { return }
            try checkNotControl(c, in: "a comment")
            pos += 1
        }
    }

    /// Spaces, an optional comment, then a newline or the end of the text.
    private mutating func endOfLine(after what: String) throws(Failure) {
        skipSpace()
        if peek == HASH { try comment() }
        switch peek {
        case nil: return
        case LF:
            pos += 1
            line += 1
        case CR where peek(1) == LF:
            pos += 2
            line += 1
        case CR:
            throw fail("a carriage return (U+000D) must be followed by a line feed")
        default:
            throw fail(what.isEmpty ? "unexpected \(describe(peek))" : "unexpected text after \(what): \(describe(peek))")
        }
    }

    /// Goes on after an error: past the next line feed.
    private mutating func skipToNextLine() {
        while let c = peek, c != LF { pos += 1 }
        if peek == LF {
            pos += 1
            line += 1
        }
    }

    private func checkNotControl(_ c: UInt8, in what: String) throws(Failure) {
        if (c < 0x20 && c != TAB) || c == 0x7F {
            throw fail(
                "control character \(describe(c)) is not allowed in \(what)\(what == "a string" ? " (write it as an escape, e.g. \\u001B)" : "")"
            )
        }
    }

    // MARK: Bytes

    private var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }
    private func peek(_ k: Int) -> UInt8? { pos + k < bytes.count ? bytes[pos + k] : nil }

    private func isAt(_ s: String) -> Bool {
        bytes[pos...].starts(with: s.utf8)
    }

    private func fail(_ message: String, key: String? = nil) -> Failure {
        Failure(line: line, key: key, message: message)
    }

    /// A byte as a person reads it in a message: `"x"`, `U+000D`, "the end of the line".
    private func describe(_ c: UInt8?, quoted: Bool = true) -> String {
        guard let c else { return "the end of the file" }
        switch c {
        case LF: return "the end of the line"
        case 0x20...0x7E: return quoted ? JSONString.quoted(String(UnicodeScalar(c))) : String(UnicodeScalar(c))
        case 0x80...: return "a non-ASCII character"
        default:
            let hex = String(c, radix: 16, uppercase: true)
            return "U+" + String(repeating: "0", count: 4 - hex.count) + hex
        }
    }

    private static func isDecimalDigit(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) }
    private static func isHexDigit(_ c: UInt8) -> Bool {
        isDecimalDigit(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c)
    }
    /// Bytes of a number, date or time token.
    private static func isTokenByte(_ c: UInt8) -> Bool {
        isBareKeyByte(c) || c == PLUS || c == DOT || c == COLON
    }
}

private let TAB: UInt8 = 0x09
private let LF: UInt8 = 0x0A
private let CR: UInt8 = 0x0D
private let SPACE: UInt8 = 0x20
private let QUOTE: UInt8 = 0x22
private let HASH: UInt8 = 0x23
private let APOSTROPHE: UInt8 = 0x27
private let PLUS: UInt8 = 0x2B
private let COMMA: UInt8 = 0x2C
private let MINUS: UInt8 = 0x2D
private let DOT: UInt8 = 0x2E
private let COLON: UInt8 = 0x3A
private let EQUALS: UInt8 = 0x3D
private let LBRACKET: UInt8 = 0x5B
private let BACKSLASH: UInt8 = 0x5C
private let RBRACKET: UInt8 = 0x5D
private let UNDERSCORE: UInt8 = 0x5F
private let LBRACE: UInt8 = 0x7B
private let RBRACE: UInt8 = 0x7D
