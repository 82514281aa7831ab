/// A TOML 1.0 value.
///
/// Equality compares values only, never the lines they were written on; `nan` is not equal to
/// itself, as in IEEE 754.
public indirect enum TOMLValue: Sendable, Equatable {
    case string(String)
    /// A 64-bit signed integer, whether written in decimal, hex, octal or binary.
    case integer(Int)
    case float(Double)
    case bool(Bool)
    /// An offset date-time, local date-time, local date or local time.
    case dateTime(TOMLDateTime)
    case array(TOMLArray)
    /// An inline table, a `[table]` (with its dotted sub-keys), or a table made by dotted keys.
    case table(TOMLTable)

    /// "a string", "an integer"...: for messages such as "x must be a string, not an integer".
    public var typeName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .bool: "a boolean"
        case .dateTime: "a date-time"
        case .array: "an array"
        case .table: "a table"
        }
    }
}

/// The items of a TOML array, each with the line it starts on.
///
/// An array of tables (`[[name]]`) is an array whose items are ``TOMLValue/table(_:)``, each
/// with the line of its `[[name]]` header.
public struct TOMLArray: Sendable, Equatable, RandomAccessCollection, ExpressibleByArrayLiteral {
    public private(set) var items: [TOMLValue]
    /// `lines[i]` is the 1-based line `items[i]` starts on (0 when built in code).
    public private(set) var lines: [Int]

    public init(items: [TOMLValue], lines: [Int]) {
        precondition(items.count == lines.count, "one line per item")
        self.items = items
        self.lines = lines
    }

    public init(arrayLiteral elements: TOMLValue...) {
        self.init(items: elements, lines: Array(repeating: 0, count: elements.count))
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { items.count }
    public subscript(i: Int) -> TOMLValue { items[i] }

    /// Equal items; lines are not compared.
    public static func == (a: TOMLArray, b: TOMLArray) -> Bool { a.items == b.items }
}

/// One `key = value` of a table, with the line its key is on.
public struct TOMLEntry: Sendable, Equatable {
    /// The key's last part, unquoted (`listen` for `server.listen = …` in the `server` table).
    public var key: String
    public var value: TOMLValue
    /// 1-based line of the key; for a table made by a header, the header's line.
    public var line: Int

    public init(key: String, value: TOMLValue, line: Int) {
        self.key = key
        self.value = value
        self.line = line
    }

    /// Same key and value; lines are not compared.
    public static func == (a: TOMLEntry, b: TOMLEntry) -> Bool { a.key == b.key && a.value == b.value }
}

/// A TOML table: its entries in the order they first appear in the file, each key once.
public struct TOMLTable: Sendable, Equatable {
    /// 1-based line where the table is defined: its `[header]`, the `{` of an inline table, or
    /// the first dotted key that made it; 0 for the root table.
    public var line: Int
    public private(set) var entries: [TOMLEntry]

    public init(line: Int, entries: [TOMLEntry]) {
        self.line = line
        self.entries = entries
    }

    /// The entry for `key` (one part; no dots are interpreted), or `nil`.
    public subscript(key: String) -> TOMLEntry? { entries.first { $0.key == key } }

    /// The value at a path of keys through nested tables (`value("server", "listen")`), or `nil`.
    public func value(_ path: String...) -> TOMLValue? {
        var table = self
        for (i, k) in path.enumerated() {
            guard let v = table[k]?.value else { return nil }
            if i == path.count - 1 { return v }
            guard case .table(let t) = v else { return nil }
            table = t
        }
        return .table(table)
    }

    /// Same entries in the same order; lines are not compared.
    public static func == (a: TOMLTable, b: TOMLTable) -> Bool { a.entries == b.entries }
}

/// A TOML date and/or time: an offset date-time (`date`, `time` and `offsetMinutes`), a local
/// date-time (no offset), a local date (`date` only) or a local time (`time` only).
public struct TOMLDateTime: Sendable, Equatable, CustomStringConvertible {
    public struct LocalDate: Sendable, Equatable {
        public var year: Int, month: Int, day: Int
        public init(year: Int, month: Int, day: Int) { (self.year, self.month, self.day) = (year, month, day) }
    }

    public struct LocalTime: Sendable, Equatable {
        public var hour: Int, minute: Int, second: Int
        /// Fractional seconds, in nanoseconds (digits past the ninth are dropped).
        public var nanosecond: Int
        public init(hour: Int, minute: Int, second: Int, nanosecond: Int = 0) {
            (self.hour, self.minute, self.second, self.nanosecond) = (hour, minute, second, nanosecond)
        }
    }

    public var date: LocalDate?
    public var time: LocalTime?
    /// Minutes east of UTC (`Z` is 0); `nil` for a local date-time, date or time.
    public var offsetMinutes: Int?

    public init(date: LocalDate? = nil, time: LocalTime? = nil, offsetMinutes: Int? = nil) {
        self.date = date
        self.time = time
        self.offsetMinutes = offsetMinutes
    }

    /// RFC 3339 text: `1979-05-27T07:32:00Z`, `1979-05-27`, `07:32:00.5`...
    public var description: String {
        func pad(_ n: Int, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        var parts: [String] = []
        if let d = date { parts.append("\(pad(d.year, 4))-\(pad(d.month, 2))-\(pad(d.day, 2))") }
        if let t = time {
            var s = "\(pad(t.hour, 2)):\(pad(t.minute, 2)):\(pad(t.second, 2))"
            if t.nanosecond > 0 {
                var frac = pad(t.nanosecond, 9)
                while frac.hasSuffix("0") { frac.removeLast() }
                s += "." + frac
            }
            parts.append(s)
        }
        var out = parts.joined(separator: "T")
        if let o = offsetMinutes {
            out += o == 0 ? "Z" : "\(o < 0 ? "-" : "+")\(pad(abs(o) / 60, 2)):\(pad(abs(o) % 60, 2))"
        }
        return out
    }
}
