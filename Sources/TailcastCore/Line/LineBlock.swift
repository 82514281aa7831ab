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

    /// Bytes this line accounts for in a ring's byte bound.
    @inlinable public var accountedBytes: Int { Int(textLength) + Int(jsonLength) + 32 }
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

    public init(firstSeq: UInt64, text: [UInt8], json: [UInt8], records: [LineRecord]) {
        self.firstSeq = firstSeq
        self.text = text
        self.json = json
        self.records = records
    }

    /// Number of lines.
    @inlinable public var count: Int { records.count }
    /// `seq` one past the last line.
    @inlinable public var endSeq: UInt64 { firstSeq + UInt64(records.count) }
    /// Bytes of storage the block holds.
    public var storageBytes: Int { text.count + json.count + records.count * MemoryLayout<LineRecord>.stride }

    /// Calls `body` with the text bytes of line `index`.
    @inlinable
    public func withText<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let r = records[index]
        return try text.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[Int(r.textStart)..<Int(r.textStart + r.textLength)]))
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
        var records = self.records
        records.reserveCapacity(records.count + next.records.count)
        for var r in next.records {
            r.textStart += textShift
            r.jsonStart += jsonShift
            records.append(r)
        }
        return LineBlock(firstSeq: firstSeq, text: text + next.text, json: json + next.json, records: records)
    }
}
