import Synchronization

/// Where one line sits inside a ``LineBlock``'s storage.
public struct LineRecord: Sendable {
    /// Offset of the line's text (valid UTF-8, no newline) in ``LineBlock/text``.
    public var textStart: UInt32
    /// Length in bytes of the line's text.
    public var textLength: UInt32
    /// Offset of the line's pre-rendered JSON fragment in ``LineBlock/json``.
    public var jsonStart: UInt32
    /// Length of the fragment `{"source":…,"seq":…,"ts":…,"text":…},` including the closing
    /// `},`, so that the fragments of consecutive lines form a JSON array body with one copy.
    public var jsonLength: UInt32
    /// `true` when the text holds only ASCII bytes, so byte offsets equal UTF-16 offsets.
    public var isASCII: Bool
    /// `true` when the fragment ends with a `"fields":{…}` object (journal lines): `…}},`.
    public var hasFields = false
    /// Journal priority 0–7, or 255 when the line has none.
    public var priority: UInt8 = 255
    /// Offset and length of the line's journal fields in ``LineBlock/meta`` (see ``JournalFields``).
    public var metaStart: UInt32 = 0
    public var metaLength: UInt32 = 0
    /// `true` when the text holds an escape sequence, so filters match a stripped copy of it
    /// (see ``EscapeSequences``) at ``matchStart`` in ``LineBlock/matchText``.
    public var hasMatchText = false
    /// Offset and length of the line's text without escape sequences in ``LineBlock/matchText``.
    public var matchStart: UInt32 = 0
    public var matchLength: UInt32 = 0
    /// The line's `ts` in microseconds since the epoch (a file line's read time, a journal
    /// entry's realtime), raised to the largest `ts` of the source's earlier lines when a clock
    /// stepped back: it never decreases within a source, so a binary search over it is exact
    /// (``LineRing/firstSeq(atOrAfter:)``). The `ts` in the JSON fragment is the line's own.
    public var ts: Int64 = 0

    public init(textStart: UInt32, textLength: UInt32, jsonStart: UInt32, jsonLength: UInt32, isASCII: Bool) {
        self.textStart = textStart
        self.textLength = textLength
        self.jsonStart = jsonStart
        self.jsonLength = jsonLength
        self.isASCII = isASCII
    }

}

/// An immutable run of consecutive lines of one source, numbered from ``firstSeq``.
///
/// Promises: never changes after it is built, so any number of readers may hold and read it
/// concurrently without copying; every text is valid UTF-8; every JSON fragment is already
/// escaped, so a reader builds an envelope by copying bytes.
public final class LineBlock: Sendable {
    /// `seq` of the first line.
    public let firstSeq: UInt64
    /// The texts of the lines, back to back.
    public let text: [UInt8]
    /// The JSON fragments of the lines, back to back.
    public let json: [UInt8]
    /// One record per line, in `seq` order.
    public let records: [LineRecord]
    /// Journal fields of the lines that have them, back to back (empty for file lines).
    public let meta: [UInt8]
    /// The texts, without escape sequences, of the lines that hold any, back to back: what
    /// filters match for those lines (see ``withMatchText(_:_:)``).
    public let matchText: [UInt8]
    /// `true` when some line has a match text: a search over ``text`` as a whole would see escapes.
    public let hasMatchTexts: Bool

    /// Bytes of memory the block holds: its arrays' capacities plus the object and array
    /// headers and the allocator's per-allocation overhead (``overheadBytes``). What a ring
    /// counts against its byte bound.
    public let memoryBytes: Int

    /// Object header, five array headers and six allocations' malloc overhead, rounded up.
    public static let overheadBytes = 256

    /// Literal searches already run over this block, for the readers that run the same one
    /// (see ``firstKept(literal:from:to:search:)``): at most ``rememberedSearchLimit``, each a
    /// bit per line.
    let rememberedSearches = Mutex<[RememberedSearch]>([])

    public init(
        firstSeq: UInt64, text: [UInt8], json: [UInt8], records: [LineRecord], meta: [UInt8] = [],
        matchText: [UInt8] = []
    ) {
        self.firstSeq = firstSeq
        self.text = text
        self.json = json
        self.records = records
        self.meta = meta
        self.matchText = matchText
        self.hasMatchTexts = records.contains { $0.hasMatchText }
        self.memoryBytes =
            text.capacity + json.capacity + meta.capacity + matchText.capacity
            + records.capacity * MemoryLayout<LineRecord>.stride + Self.overheadBytes
    }

    /// Number of lines.
    @inlinable public var count: Int { records.count }
    /// `seq` one past the last line.
    @inlinable public var endSeq: UInt64 { firstSeq + UInt64(records.count) }

    /// Calls `body` with the text bytes of line `index`.
    @inlinable
    public func withText<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let r = records[index]
        return try text.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[Int(r.textStart)..<Int(r.textStart + r.textLength)]))
        }
    }

    /// Calls `body` with the bytes filters match for line `index`: its text with escape
    /// sequences removed when it holds any, else its text (no copy either way).
    @inlinable
    public func withMatchText<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let r = records[index]
        guard r.hasMatchText else { return try withText(index, body) }
        return try matchText.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[Int(r.matchStart)..<Int(r.matchStart + r.matchLength)]))
        }
    }

    /// The text of line `index` as a `String` (for tests and logs; not for the hot path).
    public func string(at index: Int) -> String {
        withText(index) { String(decoding: $0, as: UTF8.self) }
    }

    /// A block holding the lines of `self` followed by those of `next`, which must start at ``endSeq``.
    ///
    /// Used by the ring to keep small appends (one line at a time) from costing a block each.
    public func merged(with next: LineBlock) -> LineBlock {
        precondition(next.firstSeq == endSeq, "merged blocks must be consecutive")
        let textShift = UInt32(text.count)
        let jsonShift = UInt32(json.count)
        let metaShift = UInt32(meta.count)
        let matchShift = UInt32(matchText.count)
        var records: [LineRecord] = []
        records.reserveCapacity(self.records.count + next.records.count)
        records.append(contentsOf: self.records)
        for var r in next.records {
            r.textStart += textShift
            r.jsonStart += jsonShift
            r.metaStart += metaShift
            r.matchStart += matchShift
            records.append(r)
        }
        return LineBlock(
            firstSeq: firstSeq, text: Self.joined(text, next.text), json: Self.joined(json, next.json),
            records: records, meta: Self.joined(meta, next.meta),
            matchText: Self.joined(matchText, next.matchText))
    }

    /// `a` then `b` in an array with no spare capacity (`+` would grow it geometrically).
    private static func joined(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(a.count + b.count)
        out.append(contentsOf: a)
        out.append(contentsOf: b)
        return out
    }
}

/// Journal fields of one line, stored as `[key length: UInt16][key][value length: UInt32][value]`.
public enum JournalFields {
    /// Appends one field.
    public static func append(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let k = min(key.count, Int(UInt16.max))
        let v = value.count
        withUnsafeBytes(of: UInt16(k).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: key[0..<k]))
        withUnsafeBytes(of: UInt32(v).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: value)
    }

    /// Calls `body(key, value)` for each field of line `index` of `block` until it returns `false`.
    public static func forEach(
        _ block: LineBlock, _ index: Int,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool
    ) {
        let r = block.records[index]
        guard r.metaLength > 0 else { return }
        block.meta.withUnsafeBytes { all in
            var p = Int(r.metaStart)
            let end = p + Int(r.metaLength)
            while p + 2 <= end {
                let kl = Int(all[p]) | Int(all[p + 1]) << 8
                let key = UnsafeRawBufferPointer(rebasing: all[(p + 2)..<(p + 2 + kl)])
                p += 2 + kl
                let vl = Int(all[p]) | Int(all[p + 1]) << 8 | Int(all[p + 2]) << 16 | Int(all[p + 3]) << 24
                let value = UnsafeRawBufferPointer(rebasing: all[(p + 4)..<(p + 4 + vl)])
                p += 4 + vl
                if !body(key, value) { return }
            }
        }
    }

    /// Whether line `index` has field `key` with one of `values` (compared as bytes, no copy).
    public static func has(_ key: [UInt8], oneOf values: [[UInt8]], in block: LineBlock, _ index: Int) -> Bool {
        var found = false
        forEach(block, index) { k, v in
            guard k.elementsEqual(key) else { return true }
            found = values.contains { $0.elementsEqual(v) }
            return false
        }
        return found
    }

    /// The value of `key` on line `index`, if present.
    public static func value(_ key: String, in block: LineBlock, _ index: Int) -> [UInt8]? {
        let wanted = Array(key.utf8)
        var found: [UInt8]?
        forEach(block, index) { k, v in
            if k.count == wanted.count, k.elementsEqual(wanted) {
                found = Array(v)
                return false
            }
            return true
        }
        return found
    }
}
