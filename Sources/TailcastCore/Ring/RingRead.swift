/// A run of lines of one ``LineBlock``: indexes `start..<end` of its records.
public struct LineSlice: Sendable {
    public let block: LineBlock
    public let start: Int
    public let end: Int

    public init(block: LineBlock, start: Int, end: Int) {
        self.block = block
        self.start = start
        self.end = end
    }

    /// `seq` of the first line of the slice.
    public var firstSeq: UInt64 { block.firstSeq + UInt64(start) }
    /// Number of lines.
    public var count: Int { end - start }
}

/// What one read of a ``LineRing`` found from a reader's position on.
public struct RingRead: Sendable {
    /// Lines the reader asked for that the ring does not hold: `from...to`.
    public var gap: ClosedRange<UInt64>?
    /// `true` when `gap` is a hole: lines the source lost before they reached the ring (a
    /// `dropped` of reason `evicted`), not lines the ring moved past the reader with.
    public var gapLostAtSource = false
    /// Events that happened at or before the reader's (gap-adjusted) position, oldest first.
    public var events: [SourceEvent]
    /// The lines, in `seq` order, stopping before the next unread event's position.
    public var slices: [LineSlice]
    /// Where the reader continues: one past the last line returned.
    public var nextSeq: UInt64
    /// Where the reader continues in the event log.
    public var nextEventID: UInt64

    /// `true` when nothing was found.
    public var isEmpty: Bool { gap == nil && events.isEmpty && slices.isEmpty }
}
