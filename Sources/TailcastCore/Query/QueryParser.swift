/// Turns `/ws` query-string parameters or a `query` message into a ``Query``, or a
/// ``QueryError`` that names the parameter at fault.
///
/// Promises: every bound of the contract is enforced here (16 patterns of at most 4 096 bytes,
/// `n` 0…1 000 000, `A`/`B`/`C` 0…1 000); flags take only empty, `1`, `true`, `0`, `false`;
/// an unknown parameter is an error, never ignored. Does not check source names (the server
/// knows them) nor compile patterns (``LineFilter`` does).
public struct QueryParser: Sendable {
    public var maxPatterns: Int
    public var maxPatternBytes: Int

    public init(maxPatterns: Int = 16, maxPatternBytes: Int = 4096) {
        self.maxPatterns = maxPatterns
        self.maxPatternBytes = maxPatternBytes
    }

    /// A parameter's value as it arrived.
    public enum Value: Sendable {
        case text(String)
        case list([String])
        case flag(Bool)
        case number(Double)
    }

    static let flags: Set<String> = ["F", "i", "v", "w"]
    static let lists: Set<String> = ["source", "q", "not", "unit", "identifier", "fields", "since"]
    static let numbers: [String: ClosedRange<Int>] = ["A": 0...1000, "B": 0...1000, "C": 0...1000, "n": 0...1_000_000]
    static let known: Set<String> = flags.union(lists).union(numbers.keys).union(["priority", "token", "from"])

    /// Parses URL query parameters, in order (a repeated parameter adds to lists; for a flag or a
    /// number the last one wins).
    public func parse(parameters: [(String, String)]) throws(QueryError) -> Query {
        try build(parameters.map { ($0.0, Value.text($0.1)) }, fromMessage: false)
    }

    /// Parses a `query` message (an object; its `type` member is skipped).
    public func parse(message: JSONValue) throws(QueryError) -> Query {
        guard case .object(let members) = message else {
            throw QueryError(code: "bad_message", param: nil, message: "a message must be a JSON object")
        }
        var params: [(String, Value)] = []
        for (key, value) in members where key != "type" {
            switch value {
            case .string(let s): params.append((key, .text(s)))
            case .bool(let b): params.append((key, .flag(b)))
            case .number(let d): params.append((key, .number(d)))
            case .null: continue
            case .array(let items):
                var strings: [String] = []
                for item in items {
                    guard case .string(let s) = item else {
                        throw QueryError(param: key, message: "\(key) must be a string or an array of strings")
                    }
                    strings.append(s)
                }
                params.append((key, .list(strings)))
            case .object:
                throw QueryError(param: key, message: "\(key) must not be an object")
            }
        }
        return try build(params, fromMessage: true)
    }

    private func build(_ params: [(String, Value)], fromMessage: Bool) throws(QueryError) -> Query {
        var q = Query()
        var c: Int?
        var a: Int?
        var b: Int?
        for (name, value) in params {
            guard Self.known.contains(name) else {
                throw QueryError(param: name, message: "unknown parameter \(name); see docs/protocol.md for the parameters")
            }
            if Self.flags.contains(name) {
                let on = try flag(name, value)
                switch name {
                case "F": q.literal = on
                case "i": q.ignoreCase = on
                case "v": q.invert = on
                default: q.wordMatch = on
                }
                continue
            }
            if let range = Self.numbers[name] {
                let n = try number(name, value, range, fromMessage: fromMessage)
                switch name {
                case "A": a = n
                case "B": b = n
                case "C": c = n
                default: q.backlog = n
                }
                continue
            }
            switch name {
            case "q", "not":
                let items = try strings(name, value, split: false)
                for p in items where p.utf8.count > maxPatternBytes {
                    throw QueryError(param: name, message: "pattern is \(p.utf8.count) bytes; the limit is \(maxPatternBytes)")
                }
                if name == "q" { q.patterns += items } else { q.excludes += items }
                if q.patterns.count + q.excludes.count > maxPatterns {
                    throw QueryError(param: name, message: "too many patterns: at most \(maxPatterns) q and not patterns together")
                }
            case "source":
                for s in try strings(name, value, split: true) where !q.sources.contains(s) { q.sources.append(s) }
            case "unit":
                q.units += try strings(name, value, split: false)
            case "identifier":
                q.identifiers += try strings(name, value, split: false)
            case "fields":
                q.fields += try strings(name, value, split: true)
            case "since":
                for item in try strings(name, value, split: true) {
                    q.since.append(try resumePoint(item))
                }
            case "priority":
                q.priority = try priority(value)
            case "from":
                q.from = try startTime(value)
            case "token":
                if case .text(let t) = value {
                    q.token = t
                } else {
                    throw QueryError(param: "token", message: "token must be a string")
                }
            default:
                break
            }
        }
        q.after = a ?? c ?? 0
        q.before = b ?? c ?? 0
        var seen = Set<String>()
        q.fields = q.fields.filter { seen.insert($0).inserted }
        if q.fields.count > Self.maxFields {
            throw QueryError(
                param: "fields", message: "at most \(Self.maxFields) fields may be asked for; this query names \(q.fields.count)")
        }
        return q
    }

    /// The most distinct journal fields a query may add to each line (`fields=`).
    public static let maxFields = 64

    private func flag(_ name: String, _ value: Value) throws(QueryError) -> Bool {
        switch value {
        case .flag(let b): return b
        case .text(let s):
            switch s {
            case "", "1", "true": return true
            case "0", "false": return false
            default: break
            }
        default: break
        }
        throw QueryError(param: name, message: "flag \(name) takes no value, 1, true, 0 or false")
    }

    private func number(_ name: String, _ value: Value, _ range: ClosedRange<Int>, fromMessage: Bool) throws(QueryError) -> Int {
        var n: Int?
        switch value {
        case .number(let d): if d == d.rounded(), abs(d) < 1e15 { n = Int(d) }
        case .text(let s):
            if fromMessage {
                throw QueryError(param: name, message: "\(name) must be a JSON number in a query message, not a string")
            }
            if !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }) { n = Int(s) }
        default: break
        }
        guard let n, range.contains(n) else {
            throw QueryError(param: name, message: "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }

    private func strings(_ name: String, _ value: Value, split: Bool) throws(QueryError) -> [String] {
        let raw: [String]
        switch value {
        case .text(let s): raw = [s]
        case .list(let l): raw = l
        default: throw QueryError(param: name, message: "\(name) must be a string or an array of strings")
        }
        guard split else { return raw }
        return raw.flatMap { Self.split($0, on: UInt8(ascii: ","), omittingEmpty: true) }
    }

    /// Splits on the byte `separator`, not on Characters: `,` or `:` followed by a combining mark
    /// or a joiner is one Character to Swift, but still a separator. (Pieces of valid UTF-8 cut
    /// at an ASCII byte are valid UTF-8, so decoding them loses nothing.)
    private static func split(_ s: String, on separator: UInt8, omittingEmpty: Bool) -> [String] {
        Array(s.utf8).split(separator: separator, omittingEmptySubsequences: omittingEmpty)
            .map { String(decoding: $0, as: UTF8.self) }
    }

    private func resumePoint(_ item: String) throws(QueryError) -> ResumePoint {
        let parts = Self.split(item, on: UInt8(ascii: ":"), omittingEmpty: false)
        guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty,
            parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let seq = UInt64(parts[1])
        else {
            throw QueryError(param: "since", message: "since takes SOURCE:SEQ or SOURCE:SEQ:EPOCH, comma-separated; got \(item)")
        }
        guard seq <= Self.maxSeq else {
            throw QueryError(param: "since", message: "since: seq \(parts[1]) is out of range (0 to \(Self.maxSeq))")
        }
        var epoch: String?
        if parts.count == 3 {
            guard Self.isEpoch(parts[2]) else {
                throw QueryError(param: "since", message: "an epoch is 1 to 16 of A-Z a-z 0-9 _ -; got \(parts[2])")
            }
            epoch = parts[2]
        }
        return ResumePoint(source: parts[0], seq: seq, epoch: epoch)
    }

    /// The largest `seq` a client may name: 2^53 − 1, the largest integer JavaScript (and so
    /// every JSON client) holds exactly. Sources never get near it.
    public static let maxSeq: UInt64 = 9_007_199_254_740_991

    /// `true` for 1 to 16 of `A-Z a-z 0-9 _ -`.
    public static func isEpoch(_ s: String) -> Bool {
        (1...16).contains(s.utf8.count)
            && s.utf8.allSatisfy { c in
                (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == 0x5F || c == 0x2D
            }
    }

    private func startTime(_ value: Value) throws(QueryError) -> Timestamp {
        if case .text(let s) = value, let t = StartTime.parse(s) { return t }
        let got: String
        switch value {
        case .text(let s): got = s.utf8.count > 80 ? "a \(s.utf8.count)-byte value" : JSONString.quoted(s)
        case .list: got = "a list"
        case .flag(let b): got = "\(b)"
        case .number(let d): got = "the number \(d)"
        }
        throw QueryError(
            param: "from",
            message:
                "from takes an RFC 3339 time (2026-12-03T10:00:00Z, 2026-12-03T10:00:00.5+01:00) or a negative duration (-30s, -15m, -2h, -1d; at most \(StartTime.maxDays)d); got \(got)"
        )
    }

    private func priority(_ value: Value) throws(QueryError) -> Int {
        switch value {
        case .number(let d) where d == d.rounded() && (0...7).contains(d): return Int(d)
        case .text(let s): if let p = Priority(s) { return p.rawValue }
        default: break
        }
        throw QueryError(param: "priority", message: "priority takes \(Priority.accepted)")
    }
}
