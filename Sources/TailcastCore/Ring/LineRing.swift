import NIOCore
import Synchronization

/// The bounded buffer of one source's recent lines, addressed by `seq`.
///
/// Promises:
/// - `append` never blocks on readers: it evicts the oldest lines to stay within the line and
///   byte bounds (O(1) per evicted block) and wakes each registered reader once per batch; while
///   appends keep coming, at most once per ``WakePacing`` interval (a lone line at once).
/// - Reads copy no line: they return slices of immutable blocks.
/// - The lock is held only to update indexes, never across I/O or `await`.
/// - Holes: `seq`s the source lost before they reached this ring. They arise only from
///   ``skip(to:)`` or an ``append(_:)`` past ``bounds``.next, that is for remote sources (whose
///   agent numbers the lines); a local source never has one, and pays only O(1) checks per
///   read and append for them. A reader reaching a hole learns its exact range
///   (``RingRead/gapLostAtSource``); ``lines(from:to:)`` skips holes and ``usage`` counts held
///   lines only. A hole is remembered until a line after it is evicted; then it is part of
///   the evicted range.
public final class LineRing: Sendable {
    /// An event and the `seq` position it happened at (the ring's `nextSeq` then).
    struct EventRecord {
        let id: UInt64
        let atSeq: UInt64
        let event: SourceEvent
    }

    struct State {
        /// The held blocks, oldest first; the first may hold lines already evicted (below
        /// `firstSeq`), never a block wholly evicted. Lines are consecutive within a block; a
        /// hole lies only between two blocks.
        var blocks = CircularBuffer<LineBlock>(initialCapacity: 16)
        /// The oldest held line, or `nextSeq` when none is held.
        var firstSeq: UInt64
        var nextSeq: UInt64  // seq of the next appended line
        /// Lines held (holes and evicted lines excluded).
        var lineCount = 0
        /// The holes, oldest first: disjoint, never adjacent (a line lies between two), each
        /// ending at a line or at `nextSeq`. A hole is forgotten once a line after it is
        /// evicted: only the oldest may lie below `firstSeq`, and then it ends there.
        var holes = CircularBuffer<Range<UInt64>>(initialCapacity: 2)
        /// Memory held by `blocks` (``LineBlock/memoryBytes``), whole blocks.
        var byteCount = 0
        var readers: [ObjectIdentifier: Doorbell] = [:]
        /// When appends wake the readers (see ``WakePacing``).
        var pacing = WakePacing()
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

    /// Oldest held `seq` (the next line's when none is held) and the `seq` the next line will
    /// get.
    public var bounds: (first: UInt64, next: UInt64) {
        state.withLock { ($0.firstSeq, $0.nextSeq) }
    }

    /// Lines held now (holes excluded), and the memory their blocks take.
    public var usage: (lines: Int, bytes: Int) {
        state.withLock { ($0.lineCount, $0.byteCount) }
    }

    /// Blocks held now (for tests and the memory figures).
    var blockCount: Int { state.withLock { $0.blocks.count } }

    /// The largest block a reader should hand to ``append(_:)``: a block is evicted whole when
    /// the byte bound needs room, so blocks are kept well below the bound.
    public var blockBytesTarget: Int { min(1 << 20, max(4096, maxBytes / 16)) }

    /// Adds a block whose `firstSeq` is at or after the ring's `nextSeq`, then evicts to the
    /// bounds and wakes the registered readers. Never blocks on readers.
    ///
    /// A block starting after `nextSeq` leaves the hole `nextSeq..<block.firstSeq` (lines the
    /// source lost). Small blocks are merged like a binary counter (the last two while the
    /// older is no larger than the newer, never across a hole), so each line of a trickle is
    /// copied O(log ``mergeLines``) times.
    public func append(_ block: LineBlock) {
        let now = MonotonicClock.nanoseconds()
        var later: Int64?
        let wake = state.withLock { s -> [Doorbell] in
            precondition(block.firstSeq >= s.nextSeq, "blocks must be appended in seq order")
            if block.firstSeq != s.nextSeq { Self.addHole(&s, to: block.firstSeq) }
            if s.lineCount == 0 { s.firstSeq = block.firstSeq }
            s.blocks.append(block)
            s.byteCount += block.memoryBytes
            while s.blocks.count >= 2 {
                let y = s.blocks[s.blocks.index(before: s.blocks.endIndex)]
                let xi = s.blocks.index(s.blocks.endIndex, offsetBy: -2)
                let x = s.blocks[xi]
                guard x.count <= y.count, x.firstSeq >= s.firstSeq, x.endSeq == y.firstSeq,
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
            guard !s.readers.isEmpty else { return [] }
            switch s.pacing.append(now: now, readers: s.readers.count) {
            case .now: return Array(s.readers.values)
            case .at(let t):
                later = t
                return []
            case .pending: return []
            }
        }
        for d in wake { d.ring() }
        if let later { RingWaker.shared.schedule(self, at: later) }
    }

    /// The wake ``RingWaker`` performs for an append that came too soon after the last one.
    func deferredWake() {
        let now = MonotonicClock.nanoseconds()
        let wake = state.withLock { s -> [Doorbell] in
            s.pacing.woke(now: now)
            return Array(s.readers.values)
        }
        for d in wake { d.ring() }
    }

    /// Moves `nextSeq` to `seq`, leaving the hole `nextSeq..<seq` (lines the source lost before
    /// they reached this ring), and wakes the registered readers. Does nothing when `seq` is
    /// not after `nextSeq`. Never blocks on readers.
    public func skip(to seq: UInt64) {
        let wake = state.withLock { s -> [Doorbell] in
            guard seq > s.nextSeq else { return [] }
            Self.addHole(&s, to: seq)
            if s.lineCount == 0 { s.firstSeq = seq }
            s.nextSeq = seq
            return Array(s.readers.values)
        }
        for d in wake { d.ring() }
    }

    /// Records the hole `nextSeq..<seq`, joined to the newest hole when no line came since.
    private static func addHole(_ s: inout State, to seq: UInt64) {
        if let last = s.holes.last, last.upperBound == s.nextSeq {
            s.holes[s.holes.index(before: s.holes.endIndex)] = last.lowerBound..<seq
        } else {
            s.holes.append(s.nextSeq..<seq)
        }
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

    /// Rings every registered reader (the source was handed over, see
    /// ``SourceHandle/supersede(by:)``).
    public func wakeReaders() {
        for d in state.withLock({ Array($0.readers.values) }) { d.ring() }
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
    /// oldest held line (or stops at the hole that follows the evicted lines). A `seq` inside a
    /// hole yields the hole from `seq` on as the `gap`, with ``RingRead/gapLostAtSource`` set,
    /// and the read continues after it; lines stop before a hole's start (the next read reports
    /// it). One gap per read. Lines stop before the position of the first unread event, and a
    /// hole waits for the unread events before it, so that a reader sees events in order with
    /// the lines and holes around them. O(1) beyond the lines when the ring has no hole.
    public func read(from seq: UInt64, eventID: UInt64, maxLines: Int) -> RingRead {
        state.withLock { s in
            let start = min(seq, s.nextSeq)
            var from = start
            var gap: ClosedRange<UInt64>?
            var lostAtSource = false
            if from < s.firstSeq {
                // The ring moved past the reader: up to the oldest held line, or up to the hole
                // right before it (kept while no line after it was evicted).
                let holeBelow = s.holes.first.flatMap { $0.lowerBound < s.firstSeq ? $0 : nil }
                if let h = holeBelow, from >= h.lowerBound {
                    lostAtSource = true
                    gap = from...(s.firstSeq - 1)
                } else {
                    gap = from...((holeBelow?.lowerBound ?? s.firstSeq) - 1)
                }
                from = gap!.upperBound + 1
            } else if let h = Self.hole(endingAfter: from, in: s), h.lowerBound <= from {
                lostAtSource = true
                gap = from...(h.upperBound - 1)
                from = h.upperBound
            }
            var eid = max(eventID, s.events.first?.id ?? eventID)
            if lostAtSource, let e = s.events.first(where: { $0.id >= eid }), e.atSeq <= start {
                // An event from before the hole goes out first.
                lostAtSource = false
                gap = nil
                from = start
            }
            var events: [SourceEvent] = []
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
            if let h = Self.hole(endingAfter: from, in: s) { limitSeq = min(limitSeq, max(from, h.lowerBound)) }
            let end = min(limitSeq, from &+ UInt64(max(0, maxLines)))
            let slices = Self.slices(s, from: from, to: end)
            return RingRead(
                gap: gap, gapLostAtSource: lostAtSource, events: events, slices: slices, nextSeq: end,
                nextEventID: eid)
        }
    }

    /// The oldest hole that ends after `seq` (it holds `seq` or starts after it), if any.
    /// O(1) when there is no hole, O(log holes) otherwise.
    private static func hole(endingAfter seq: UInt64, in s: State) -> Range<UInt64>? {
        guard let last = s.holes.last, last.upperBound > seq else { return nil }
        func hole(_ k: Int) -> Range<UInt64> { s.holes[s.holes.index(s.holes.startIndex, offsetBy: k)] }
        var lo = 0
        var hi = s.holes.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if hole(mid).upperBound > seq { hi = mid } else { lo = mid + 1 }
        }
        return hole(lo)
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

    /// The held lines in `from..<to` (clamped to what is held, holes skipped), in order.
    public func lines(from: UInt64, to: UInt64) -> [LineSlice] {
        state.withLock { s in
            Self.slices(s, from: max(from, s.firstSeq), to: min(to, s.nextSeq))
        }
    }

    /// The newest `count` held lines below `seq` and at or after `floor` (holes skipped), in
    /// order: a backward scan's next chunk, however long the holes it crosses.
    ///
    /// O(log blocks) plus the blocks it returns.
    public func lines(last count: Int, before seq: UInt64, notBelow floor: UInt64) -> [LineSlice] {
        state.withLock { s in
            let lowest = max(floor, s.firstSeq)
            let to = min(seq, s.nextSeq)
            guard count > 0, lowest < to, !s.blocks.isEmpty else { return [] }
            func block(_ k: Int) -> LineBlock { s.blocks[s.blocks.index(s.blocks.startIndex, offsetBy: k)] }
            // The newest block starting below `to`.
            var lo = 0
            var hi = s.blocks.count - 1
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if block(mid).firstSeq < to { lo = mid } else { hi = mid - 1 }
            }
            var result: [LineSlice] = []
            var wanted = UInt64(count)
            var k = lo
            while wanted > 0, k >= 0 {
                let b = block(k)
                let high = min(to, b.endSeq)
                let low = max(lowest, b.firstSeq)
                if high > low {
                    let n = min(wanted, high - low)
                    result.append(LineSlice(block: b, start: Int(high - n - b.firstSeq), end: Int(high - b.firstSeq)))
                    wanted -= n
                }
                if b.firstSeq <= lowest { break }
                k -= 1
            }
            return result.reversed()
        }
    }

    /// The `seq` of the oldest of the newest `n` held lines (all held lines when fewer are
    /// held; ``bounds``.next when `n` is 0): where an `n` replay of every line starts.
    ///
    /// O(1) when the ring has no hole, O(holes crossed) otherwise.
    public func firstSeq(ofLast n: Int) -> UInt64 {
        state.withLock { s in
            var wanted = UInt64(max(0, n))
            var end = s.nextSeq
            var k = s.holes.endIndex
            while k != s.holes.startIndex {
                k = s.holes.index(before: k)
                let h = s.holes[k]
                guard h.upperBound > s.firstSeq else { break }
                let run = end - h.upperBound  // held lines between this hole and `end`
                if wanted <= run { return end - wanted }
                wanted -= run
                end = h.lowerBound
            }
            return end - min(wanted, end - s.firstSeq)
        }
    }

    private static func slices(_ s: State, from: UInt64, to: UInt64) -> [LineSlice] {
        guard from < to, !s.blocks.isEmpty else { return [] }
        // Binary search for the block holding `from` (offsets from the oldest block); `from`
        // may lie in the hole after it.
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
            let low = max(seq, b.firstSeq)
            let high = min(to, b.endSeq)
            if low < high {
                result.append(LineSlice(block: b, start: Int(low - b.firstSeq), end: Int(high - b.firstSeq)))
            }
            seq = max(seq, high)
            i = s.blocks.index(after: i)
        }
        return result
    }

    /// Evicts the oldest lines while more than `maxLines` are held, then the oldest blocks
    /// whole while their memory passes `maxBytes` (even the newest: the bound is a bound;
    /// readers get the exact `dropped` range). O(evicted blocks); forgets each hole once a
    /// line after it is evicted.
    private static func evict(_ s: inout State, maxLines: Int, maxBytes: Int) {
        var excess = s.lineCount - maxLines
        while excess > 0, let b = s.blocks.first {
            let first = max(b.firstSeq, s.firstSeq)
            let held = Int(b.endSeq - min(first, b.endSeq))
            guard held <= excess else {
                // Part of the oldest block.
                let newFirst = first + UInt64(excess)
                // Remember the last evicted line's ts (for `from=TIME`'s `evicted`).
                s.lastEvictedTS = max(s.lastEvictedTS, b.records[Int(newFirst - 1 - b.firstSeq)].ts)
                s.firstSeq = newFirst
                s.lineCount -= excess
                break
            }
            evictOldestBlock(&s)
            excess -= held
        }
        while s.byteCount > maxBytes, !s.blocks.isEmpty { evictOldestBlock(&s) }
        while let h = s.holes.first, h.upperBound < s.firstSeq { s.holes.removeFirst() }
    }

    private static func evictOldestBlock(_ s: inout State) {
        let b = s.blocks.removeFirst()
        s.byteCount -= b.memoryBytes
        if let last = b.records.last { s.lastEvictedTS = max(s.lastEvictedTS, last.ts) }
        s.lineCount -= Int(b.endSeq - min(max(b.firstSeq, s.firstSeq), b.endSeq))
        s.firstSeq = s.blocks.first?.firstSeq ?? s.nextSeq
    }
}
