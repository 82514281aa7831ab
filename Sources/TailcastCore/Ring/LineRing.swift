import Synchronization

/// The bounded buffer of one source's recent lines, addressed by `seq`.
///
/// Promises:
/// - `append` never blocks on readers: it evicts the oldest lines to stay within the line and
///   byte bounds (O(1) per evicted line) and wakes each registered reader once per batch.
/// - Reads copy no line: they return slices of immutable blocks.
/// - The lock is held only to update indexes, never across I/O or `await`.
public final class LineRing: Sendable {
    /// An event and the `seq` position it happened at (the ring's `nextSeq` then).
    struct EventRecord {
        let id: UInt64
        let atSeq: UInt64
        let event: SourceEvent
    }

    struct State {
        var blocks: [LineBlock] = []
        var head = 0                 // index of the first live block
        var firstSeq: UInt64         // oldest held line
        var nextSeq: UInt64          // seq of the next appended line
        var lineCount = 0
        var byteCount = 0
        var readers: [ObjectIdentifier: Doorbell] = [:]
        var events: [EventRecord] = []
        var nextEventID: UInt64 = 0
        /// ``LineRecord/ts`` of the last evicted line, `Int64.min` while none was evicted.
        var lastEvictedTS: Int64 = .min
    }

    /// Bound on lines held.
    public let maxLines: Int
    /// Bound on bytes held (texts, fragments and per-line overhead).
    public let maxBytes: Int
    private let state: Mutex<State>

    private static let mergeLines = 256
    private static let mergeBytes = 32 << 10
    private static let eventsKept = 256

    public init(maxLines: Int, maxBytes: Int, firstSeq: UInt64 = 1) {
        self.maxLines = max(1, maxLines)
        self.maxBytes = max(1024, maxBytes)
        self.state = Mutex(State(firstSeq: firstSeq, nextSeq: firstSeq))
    }

    /// Oldest held `seq` and the `seq` the next line will get.
    public var bounds: (first: UInt64, next: UInt64) {
        state.withLock { ($0.firstSeq, $0.nextSeq) }
    }

    /// Lines and bytes held now.
    public var usage: (lines: Int, bytes: Int) {
        state.withLock { ($0.lineCount, $0.byteCount) }
    }

    /// Adds a block whose `firstSeq` is the ring's `nextSeq`, then evicts to the bounds and
    /// wakes the registered readers. Never blocks on readers.
    public func append(_ block: LineBlock) {
        let wake = state.withLock { s -> [Doorbell] in
            precondition(block.firstSeq == s.nextSeq, "blocks must be appended in seq order")
            if s.head < s.blocks.count, let last = s.blocks.last,
               last.count < Self.mergeLines, last.storageBytes < Self.mergeBytes,
               block.count < Self.mergeLines, block.storageBytes < Self.mergeBytes {
                s.blocks[s.blocks.count - 1] = last.merged(with: block)
            } else {
                s.blocks.append(block)
            }
            s.nextSeq = block.endSeq
            s.lineCount += block.count
            for r in block.records { s.byteCount += r.accountedBytes }
            Self.evict(&s, maxLines: maxLines, maxBytes: maxBytes)
            return Array(s.readers.values)
        }
        for d in wake { d.ring() }
    }

    /// Records an event at the current position and wakes the readers.
    public func record(_ event: SourceEvent) {
        let wake = state.withLock { s -> [Doorbell] in
            s.events.append(EventRecord(id: s.nextEventID, atSeq: s.nextSeq, event: event))
            s.nextEventID += 1
            if s.events.count > Self.eventsKept { s.events.removeFirst(s.events.count - Self.eventsKept) }
            return Array(s.readers.values)
        }
        for d in wake { d.ring() }
    }

    /// The id the next recorded event will get: a new reader starts its event cursor here.
    public var nextEventID: UInt64 { state.withLock { $0.nextEventID } }

    /// Registers `doorbell` to be rung after every append and event.
    public func register(_ doorbell: Doorbell) {
        state.withLock { $0.readers[ObjectIdentifier(doorbell)] = doorbell }
    }

    /// Stops ringing `doorbell`.
    public func unregister(_ doorbell: Doorbell) {
        _ = state.withLock { $0.readers.removeValue(forKey: ObjectIdentifier(doorbell)) }
    }

    /// Reads from `seq` on, at most `maxLines` lines.
    ///
    /// A `seq` older than the oldest held line yields a `gap` and the read continues from the
    /// oldest held line. Lines stop before the position of the first unread event, so that a
    /// reader sees events in order with the lines around them.
    public func read(from seq: UInt64, eventID: UInt64, maxLines: Int) -> RingRead {
        state.withLock { s in
            var from = min(seq, s.nextSeq)
            var gap: ClosedRange<UInt64>?
            if from < s.firstSeq {
                gap = from...(s.firstSeq - 1)
                from = s.firstSeq
            }
            var events: [SourceEvent] = []
            var eid = max(eventID, s.events.first?.id ?? eventID)
            var limitSeq = s.nextSeq
            for e in s.events where e.id >= eid {
                if e.atSeq <= from {
                    events.append(e.event)
                    eid = e.id + 1
                } else {
                    limitSeq = e.atSeq
                    break
                }
            }
            let end = min(limitSeq, from &+ UInt64(max(0, maxLines)))
            let slices = Self.slices(s, from: from, to: end)
            return RingRead(gap: gap, events: events, slices: slices, nextSeq: end, nextEventID: eid)
        }
    }

    /// Where a `from=TIME` replay starts: the first held line whose ``LineRecord/ts`` is at or
    /// after `ts` (``bounds``.next when none is), and whether lines at or after `ts` are known
    /// to have left the ring (then the start is the oldest held line).
    ///
    /// O(log n) under the lock: a binary search over the blocks, then over the records of one.
    /// Exact because a record's `ts` never decreases within a source.
    public func firstSeq(atOrAfter ts: Int64) -> (seq: UInt64, evicted: Bool) {
        state.withLock { s in
            let lost = s.lastEvictedTS >= ts
            guard s.head < s.blocks.count, s.firstSeq < s.nextSeq else { return (s.nextSeq, lost) }
            // The first block whose last line is at or after `ts`.
            var lo = s.head
            var hi = s.blocks.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if s.blocks[mid].records[s.blocks[mid].count - 1].ts >= ts { hi = mid } else { lo = mid + 1 }
            }
            guard lo < s.blocks.count else { return (s.nextSeq, false) }
            let b = s.blocks[lo]
            var i = lo == s.head ? Int(s.firstSeq - b.firstSeq) : 0
            var j = b.count - 1
            while i < j {
                let mid = (i + j) / 2
                if b.records[mid].ts >= ts { j = mid } else { i = mid + 1 }
            }
            let seq = b.firstSeq + UInt64(i)
            return (seq, seq == s.firstSeq && lost)
        }
    }

    /// The held lines in `from..<to` (clamped to what is held), in order.
    public func lines(from: UInt64, to: UInt64) -> [LineSlice] {
        state.withLock { s in
            Self.slices(s, from: max(from, s.firstSeq), to: min(to, s.nextSeq))
        }
    }

    private static func slices(_ s: State, from: UInt64, to: UInt64) -> [LineSlice] {
        guard from < to, s.head < s.blocks.count else { return [] }
        // Binary search for the block holding `from`.
        var lo = s.head
        var hi = s.blocks.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if s.blocks[mid].firstSeq <= from { lo = mid } else { hi = mid - 1 }
        }
        var result: [LineSlice] = []
        var i = lo
        var seq = from
        while seq < to, i < s.blocks.count {
            let b = s.blocks[i]
            let start = Int(seq - b.firstSeq)
            let end = Int(min(to, b.endSeq) - b.firstSeq)
            if start < end { result.append(LineSlice(block: b, start: start, end: end)) }
            seq = b.firstSeq + UInt64(end)
            i += 1
        }
        return result
    }

    private static func evict(_ s: inout State, maxLines: Int, maxBytes: Int) {
        while s.lineCount > maxLines || s.byteCount > maxBytes, s.head < s.blocks.count {
            let b = s.blocks[s.head]
            let idx = Int(s.firstSeq - b.firstSeq)
            s.byteCount -= b.records[idx].accountedBytes
            s.lastEvictedTS = b.records[idx].ts
            s.lineCount -= 1
            s.firstSeq += 1
            if s.firstSeq == b.endSeq {
                s.head += 1
            }
        }
        if s.head > 64, s.head * 2 > s.blocks.count {
            s.blocks.removeFirst(s.head)
            s.head = 0
        }
    }
}
