import NIOCore
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
        /// The held blocks, oldest first; the first may hold lines already evicted (below
        /// `firstSeq`), never a block wholly evicted.
        var blocks = CircularBuffer<LineBlock>(initialCapacity: 16)
        var firstSeq: UInt64  // oldest held line
        var nextSeq: UInt64  // seq of the next appended line
        var lineCount = 0
        /// Memory held by `blocks` (``LineBlock/memoryBytes``), whole blocks.
        var byteCount = 0
        var readers: [ObjectIdentifier: Doorbell] = [:]
        var events: [EventRecord] = []
        var nextEventID: UInt64 = 0
        /// ``LineRecord/ts`` of the last evicted line, `Int64.min` while none was evicted.
        var lastEvictedTS: Int64 = .min
    }

    /// Bound on lines held.
    public let maxLines: Int
    /// Bound on the memory the held blocks take (their arrays' capacities and overheads,
    /// whole blocks: a block partly evicted by the line bound still counts whole).
    public let maxBytes: Int
    private let state: Mutex<State>

    /// Small blocks (a line or a few at a time) are merged while both are below these, so a
    /// trickle of lines does not cost a block each.
    static let mergeLines = 256
    static let mergeBytes = 64 << 10
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

    /// Lines held now, and the memory their blocks take.
    public var usage: (lines: Int, bytes: Int) {
        state.withLock { ($0.lineCount, $0.byteCount) }
    }

    /// Blocks held now (for tests and the memory figures).
    var blockCount: Int { state.withLock { $0.blocks.count } }

    /// The largest block a reader should hand to ``append(_:)``: a block is evicted whole when
    /// the byte bound needs room, so blocks are kept well below the bound.
    public var blockBytesTarget: Int { min(1 << 20, max(4096, maxBytes / 16)) }

    /// Adds a block whose `firstSeq` is the ring's `nextSeq`, then evicts to the bounds and
    /// wakes the registered readers. Never blocks on readers.
    ///
    /// Small blocks are merged like a binary counter (the last two while the older is no
    /// larger than the newer), so each line of a trickle is copied O(log ``mergeLines``) times.
    public func append(_ block: LineBlock) {
        let wake = state.withLock { s -> [Doorbell] in
            precondition(block.firstSeq == s.nextSeq, "blocks must be appended in seq order")
            s.blocks.append(block)
            s.byteCount += block.memoryBytes
            while s.blocks.count >= 2 {
                let y = s.blocks[s.blocks.index(before: s.blocks.endIndex)]
                let xi = s.blocks.index(s.blocks.endIndex, offsetBy: -2)
                let x = s.blocks[xi]
                guard x.count <= y.count, x.firstSeq >= s.firstSeq,
                    x.count + y.count <= Self.mergeLines,
                    x.memoryBytes + y.memoryBytes <= Self.mergeBytes
                else { break }
                let merged = x.merged(with: y)
                s.blocks.removeLast(2)
                s.blocks.append(merged)
                s.byteCount += merged.memoryBytes - x.memoryBytes - y.memoryBytes
            }
            s.nextSeq = block.endSeq
            s.lineCount += block.count
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
            guard !s.blocks.isEmpty, s.firstSeq < s.nextSeq else { return (s.nextSeq, lost) }
            func block(_ k: Int) -> LineBlock { s.blocks[s.blocks.index(s.blocks.startIndex, offsetBy: k)] }
            // The first block whose last line is at or after `ts`.
            var lo = 0
            var hi = s.blocks.count
            while lo < hi {
                let mid = (lo + hi) / 2
                let m = block(mid)
                if m.records[m.count - 1].ts >= ts { hi = mid } else { lo = mid + 1 }
            }
            guard lo < s.blocks.count else { return (s.nextSeq, false) }
            let b = block(lo)
            var i = max(0, Int(Int64(s.firstSeq) - Int64(b.firstSeq)))
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
        guard from < to, !s.blocks.isEmpty else { return [] }
        // Binary search for the block holding `from` (offsets from the oldest block).
        var lo = 0
        var hi = s.blocks.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if s.blocks[s.blocks.index(s.blocks.startIndex, offsetBy: mid)].firstSeq <= from { lo = mid } else { hi = mid - 1 }
        }
        var result: [LineSlice] = []
        var i = s.blocks.index(s.blocks.startIndex, offsetBy: lo)
        var seq = from
        while seq < to, i != s.blocks.endIndex {
            let b = s.blocks[i]
            let start = Int(seq - b.firstSeq)
            let end = Int(min(to, b.endSeq) - b.firstSeq)
            if start < end { result.append(LineSlice(block: b, start: start, end: end)) }
            seq = b.firstSeq + UInt64(end)
            i = s.blocks.index(after: i)
        }
        return result
    }

    /// Evicts the oldest lines while more than `maxLines` are held, then the oldest blocks
    /// whole while their memory passes `maxBytes` (even the newest: the bound is a bound;
    /// readers get the exact `dropped` range).
    private static func evict(_ s: inout State, maxLines: Int, maxBytes: Int) {
        if s.lineCount > maxLines {
            let newFirst = s.firstSeq + UInt64(s.lineCount - maxLines)
            // Remember the last evicted line's ts (for `from=TIME`'s `evicted`).
            for b in s.blocks where b.endSeq >= newFirst {
                s.lastEvictedTS = max(s.lastEvictedTS, b.records[Int(newFirst - 1 - b.firstSeq)].ts)
                break
            }
            s.firstSeq = newFirst
            s.lineCount = maxLines
            while let b = s.blocks.first, b.endSeq <= s.firstSeq {
                s.blocks.removeFirst()
                s.byteCount -= b.memoryBytes
            }
        }
        while s.byteCount > maxBytes, let b = s.blocks.first {
            s.blocks.removeFirst()
            s.byteCount -= b.memoryBytes
            if let last = b.records.last { s.lastEvictedTS = max(s.lastEvictedTS, last.ts) }
            s.lineCount -= Int(b.endSeq - max(b.firstSeq, s.firstSeq))
            s.firstSeq = b.endSeq
        }
    }
}
