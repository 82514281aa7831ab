/// Turns raw lines of one source into ``LineBlock``s: repairs UTF-8, cuts long lines on a
/// character boundary, numbers them and pre-renders each line's JSON fragment once; keeps a
/// copy without escape sequences of the lines that hold any, for filters
/// (``LineBlock/withMatchText(_:_:)``); puts the time written at the start of a file line in
/// its fragment as `log_ts` (``LineTimeParser``).
///
/// Promises: owned by the one thread that reads the source (not `Sendable`); `seq` rises by
/// exactly one per appended line; all per-batch work (timestamp text) is done once per batch;
/// a line without ESC costs one `memchr` for it, and one look at its first bytes for `log_ts`.
public struct LineBlockBuilder {
    /// `seq` the next appended line gets.
    public private(set) var nextSeq: UInt64
    private let maxLineBytes: Int
    private let prefix: [UInt8]  // {"source":"NAME","seq":
    private var text: [UInt8] = []
    private var json: [UInt8] = []
    private var records: [LineRecord] = []
    private var meta: [UInt8] = []
    private var matchText: [UInt8] = []
    private var timeParser = LineTimeParser()
    private var firstSeq: UInt64
    private var tsFragment: [UInt8] = []  // ,"ts":"…","text":"
    private var scratch: [UInt8] = []
    /// The ts the following lines get in their record: the stamp, never below an earlier line's.
    private var recordTS: Int64 = .min

    /// - Parameters:
    ///   - source: the source name written in every line.
    ///   - nextSeq: the `seq` of the first line to build.
    ///   - maxLineBytes: the bound on a line's text, in bytes after repair.
    public init(source: String, nextSeq: UInt64, maxLineBytes: Int) {
        var p: [UInt8] = Array(#"{"source":"#.utf8)
        JSONString.appendQuoted(source, to: &p)
        p.append(contentsOf: Array(#","seq":"#.utf8))
        self.prefix = p
        self.nextSeq = nextSeq
        self.firstSeq = nextSeq
        self.maxLineBytes = max(16, maxLineBytes)
    }

    /// Lines waiting in the builder.
    public var pendingLines: Int { records.count }
    /// Bytes waiting in the builder.
    public var pendingBytes: Int { text.count + json.count }

    private var stampSecond: Int64 = .min

    /// Sets the timestamp that the following lines carry; call once per read batch (journal:
    /// once per entry). The date and time text is made once per second; within a second only
    /// the six fractional digits are rewritten.
    public mutating func stamp(_ ts: Timestamp) {
        timeParser.setNow(ts)
        recordTS = max(recordTS, ts.microseconds)
        var second = ts.microseconds / 1_000_000
        var micros = ts.microseconds % 1_000_000
        if micros < 0 {
            micros += 1_000_000
            second -= 1
        }
        if second != stampSecond || tsFragment.isEmpty {
            tsFragment.removeAll(keepingCapacity: true)
            Self.append(#","ts":""#, to: &tsFragment)
            tsFragment.append(contentsOf: ts.rfc3339Bytes)
            Self.append(#"","text":""#, to: &tsFragment)
            stampSecond = second
            return
        }
        // ,"ts":"YYYY-MM-DDTHH:MM:SS.ffffffZ","text":"  — the digits end 12 bytes from the end.
        var v = micros
        var k = tsFragment.count - 12
        for _ in 0..<6 {
            tsFragment[k] = UInt8(0x30 + v % 10)
            v /= 10
            k -= 1
        }
    }

    /// Appends one line (without its newline).
    ///
    /// - Parameters:
    ///   - raw: the line's bytes as read; invalid UTF-8 is replaced with U+FFFD.
    ///   - truncated: `true` when the reader already discarded the rest of the line.
    ///   - file: for glob sources, the path the line came from.
    public mutating func append(_ raw: UnsafeRawBufferPointer, truncated: Bool, file: String? = nil) {
        if tsFragment.isEmpty { stamp(.now()) }
        let verdict = UTF8Repair.classify(raw)
        if verdict == .invalid {
            scratch.removeAll(keepingCapacity: true)
            UTF8Repair.repair(raw, into: &scratch)
            scratch.withUnsafeBytes { appendValid($0, ascii: false, truncated: truncated, file: file, logTime: .parse) }
        } else {
            appendValid(raw, ascii: verdict == .ascii, truncated: truncated, file: file, logTime: .parse)
        }
    }

    /// Where a line's `log_ts` comes from.
    private enum LogTime {
        /// Parsed from the start of the line (file lines).
        case parse
        /// Given by the source (a journal entry's `_SOURCE_REALTIME_TIMESTAMP`), or none.
        case given(Timestamp?)
    }

    private mutating func appendValid(
        _ bytes: UnsafeRawBufferPointer, ascii: Bool, truncated: Bool, file: String?,
        logTime: LogTime
    ) {
        var length = bytes.count
        var cut = truncated
        if length > maxLineBytes {
            length = maxLineBytes
            while length > 0, bytes[length] & 0xC0 == 0x80 { length -= 1 }
            cut = true
        }
        let body = UnsafeRawBufferPointer(rebasing: bytes[0..<length])
        let textStart = UInt32(text.count)
        text.append(contentsOf: body)
        let matchStart = matchText.count
        let escaped = EscapeSequences.contains(body)
        if escaped { EscapeSequences.strip(body, into: &matchText) }
        let logTs: Timestamp?
        switch logTime {
        case .given(let ts): logTs = ts
        case .parse where escaped:
            var parser = timeParser
            logTs = matchText.withUnsafeBytes { parser.parse(UnsafeRawBufferPointer(rebasing: $0[matchStart...])) }
            timeParser = parser
        case .parse: logTs = timeParser.parse(body)
        }
        let jsonStart = UInt32(json.count)
        json.append(contentsOf: prefix)
        appendDecimal(nextSeq, to: &json)
        json.append(contentsOf: tsFragment)
        JSONString.appendEscaped(body, to: &json)
        json.append(0x22)
        if cut { json.append(contentsOf: Self.truncatedFragment) }
        if let file {
            json.append(contentsOf: Self.fileFragment)
            JSONString.appendQuoted(file, to: &json)
        }
        if let logTs {
            json.append(contentsOf: Self.logTsFragment)
            CivilTime.appendRFC3339(logTs.microseconds, to: &json)
            json.append(0x22)
        }
        json.append(contentsOf: Self.closing)
        var record = LineRecord(
            textStart: textStart, textLength: UInt32(length),
            jsonStart: jsonStart, jsonLength: UInt32(json.count) - jsonStart,
            isASCII: ascii)
        if escaped {
            record.hasMatchText = true
            record.matchStart = UInt32(matchStart)
            record.matchLength = UInt32(matchText.count - matchStart)
        }
        record.ts = recordTS
        records.append(record)
        nextSeq += 1
    }

    /// Appends one journal entry: `text` is its MESSAGE, `fieldsJSON` the rendered `fields`
    /// object, `fields` every field kept for per-connection filters and `fields=`, `sourceTime`
    /// the entry's `_SOURCE_REALTIME_TIMESTAMP` (its `log_ts`) when it has one.
    public mutating func appendJournal(
        message: UnsafeRawBufferPointer, ts: Timestamp, priority: UInt8?,
        fieldsJSON: [UInt8], fields: [UInt8], sourceTime: Timestamp? = nil
    ) {
        stamp(ts)
        let verdict = UTF8Repair.classify(message)
        if verdict == .invalid {
            scratch.removeAll(keepingCapacity: true)
            UTF8Repair.repair(message, into: &scratch)
            let repaired = scratch
            repaired.withUnsafeBytes { appendValid($0, ascii: false, truncated: false, file: nil, logTime: .given(sourceTime)) }
        } else {
            appendValid(message, ascii: verdict == .ascii, truncated: false, file: nil, logTime: .given(sourceTime))
        }
        // Re-open the fragment's closing "}," to add the fields object.
        json.removeLast(2)
        json.append(contentsOf: Self.fieldsFragment)
        json.append(contentsOf: fieldsJSON)
        json.append(contentsOf: Self.closing)
        var r = records[records.count - 1]
        r.jsonLength = UInt32(json.count) - r.jsonStart
        r.hasFields = true
        r.priority = priority ?? 255
        r.metaStart = UInt32(meta.count)
        meta.append(contentsOf: fields)
        r.metaLength = UInt32(fields.count)
        records[records.count - 1] = r
    }

    /// `array` itself when its spare capacity is small, else a copy with no spare capacity.
    static func trimmed<T>(_ array: [T]) -> [T] {
        array.capacity - array.count <= max(64, array.count / 16) ? array : Array(array[...])
    }

    private static func append(_ s: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    private static let fieldsFragment: [UInt8] = Array(#","fields":"#.utf8)
    private static let truncatedFragment: [UInt8] = Array(#","truncated":true"#.utf8)
    private static let fileFragment: [UInt8] = Array(#","file":"#.utf8)
    private static let logTsFragment: [UInt8] = Array(#","log_ts":""#.utf8)
    private static let closing: [UInt8] = Array("},".utf8)

    /// Hands out the lines built so far as one block, or `nil` when there are none.
    public mutating func finish() -> LineBlock? {
        guard !records.isEmpty else { return nil }
        // Arrays grown by appending hold up to twice what they carry: a block kept in a ring
        // holds only what it carries.
        let block = LineBlock(
            firstSeq: firstSeq, text: Self.trimmed(text), json: Self.trimmed(json),
            records: Self.trimmed(records), meta: Self.trimmed(meta),
            matchText: Self.trimmed(matchText))
        text = []
        json = []
        records = []
        meta = []
        matchText = []
        text.reserveCapacity(block.text.count)
        json.reserveCapacity(block.json.count)
        firstSeq = nextSeq
        tsFragment.removeAll(keepingCapacity: true)
        return block
    }
}

/// Appends the decimal digits of `value`.
@inlinable
public func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
    if value < 10 {
        out.append(UInt8(0x30 + value))
        return
    }
    var tmp:
        (
            UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
            UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
        ) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var v = value
    var n = 0
    withUnsafeMutableBytes(of: &tmp) { buf in
        while v > 0 {
            buf[19 - n] = UInt8(0x30 + v % 10)
            v /= 10
            n += 1
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[(20 - n)...]))
    }
}
