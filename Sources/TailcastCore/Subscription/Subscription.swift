import NIOCore

/// One connection's reader over the rings of its selected sources: its positions, its
/// compiled query, its context state and whether it is paused.
///
/// Promises:
/// - ``poll(maxFrameBytes:budgetNanos:)`` never blocks and never waits on the network: it
///   returns the envelopes that are ready now, at most one `lines` envelope of about
///   `maxFrameBytes` (always at least one line), preceded by any `dropped` and `event`
///   envelopes in order.
/// - Its work is bounded: it stops when its budget runs out or its task is cancelled and says
///   so in ``hasPendingWork``; the caller yields and polls again. The `n` replay's backward scan
///   is done the same way, in slices, after `hello`, never in the initializer.
/// - One decision, ``keeps(_:_:)`` (journal filters, then the grep filter), chooses lines for
///   replay, live lines and context alike; context lines come from the lines the journal
///   filters keep.
/// - Every line a reader skips is reported by an exact `dropped` range; a hole in a ring
///   (lines lost at a remote source) is a `dropped` of reason `evicted`, except inside an `n`
///   replay, which replays what is held.
/// - Nothing is read while paused; on resume, what left the ring meanwhile is `paused`.
/// - `from=TIME` starts each source not named in `since` at its first held line at or after
///   TIME (with `n`, the last n kept lines from there); `evicted` is reported only when lines
///   at or after TIME are known to have left the ring.
/// - Envelopes are laid out in the writer's ``FrameFormat``; in SSE each one carries, as its
///   `id`, the resume position (``resumePosition``) it leaves the reader at.
/// Not `Sendable`: owned by one connection (its event loop, or a worker in its turn).
public struct Subscription {
    /// A reader's place in one source.
    struct Cursor {
        var source: SourceHandle
        var nextSeq: UInt64
        var eventID: UInt64
        var afterRemaining = 0
        var lastEmitted: UInt64 = 0
        var gapReason: DropReason?
        /// A gap found at the first read after an `n` replay's scan is not a loss to report:
        /// `n` replays what is held.
        var silentGap = false
        /// Holes (lines lost at the source) starting below this `seq` are passed silently:
        /// they lie inside the `n` replay, which replays what is held.
        var quietHolesBelow: UInt64 = 0
        /// The `n` replay's backward scan, while it is not finished.
        var backlog: BacklogScan?
        var sent = 0
        /// Journal read-back of a `since` older than the ring (see the extension at the end).
        var readBack: JournalReadBackCursor?
        /// The first gap this cursor meets is read back (from the journal or the stream) rather
        /// than reported, when the source can: its start was placed where lines may leave the
        /// ring before the first read (a `since`, a new epoch).
        var readsBackFirstGap = false
    }

    /// The state of an `n` replay's backward scan over one ring.
    struct BacklogScan {
        /// Kept lines still to find.
        var remaining: Int
        /// The scan continues below this `seq`.
        var below: UInt64
        /// The oldest kept line found so far (the replay's start), or the ring's end.
        var start: UInt64
        /// The scan stops here (`from=TIME`: the first line at or after TIME).
        var floor: UInt64 = 0
    }

    public let query: Query
    public private(set) var sources: [SourceHandle]
    private var cursors: [Cursor]
    private var filter: LineFilter
    private let writer: EnvelopeWriter
    private let metrics: PipelineMetrics
    private var startIndex = 0
    private var preamble: [ByteBuffer] = []
    private let readBackWake = ReadBackWake()
    /// Nothing is read while `true`.
    public private(set) var isPaused = false
    /// Set when a ring moved past this reader since the last check.
    public private(set) var lostLinesToSlowness = false
    /// Set when the last poll filled its frame and lines are still waiting.
    public private(set) var isLagging = false
    /// Set when the last poll stopped before it was done (frame full, budget spent, replay scan
    /// unfinished): poll again after yielding, without waiting for new lines.
    public private(set) var hasPendingWork = false
    /// Lines sent and lines reported lost so far, for the connection's closing log line.
    public private(set) var linesSentTotal = 0
    public private(set) var linesDroppedTotal = 0

    /// The query's units and identifiers as bytes, made once per query for the journal filters.
    private let unitBytes: [[UInt8]]
    private let identifierBytes: [[UInt8]]
    private static let unitKey = Array("_SYSTEMD_UNIT".utf8)
    private static let identifierKey = Array("SYSLOG_IDENTIFIER".utf8)

    /// Lines read from a ring per lock acquisition.
    static let readChunk = 4096
    /// Lines a pattern filter tests between two budget checks.
    static let filterChunk = 32
    /// Lines a journal-filtered `B` context looks back at most for its lines.
    static let contextLookback: UInt64 = 10_000
    /// The default time budget of one poll.
    public static let defaultBudgetNanos: Int64 = 2_000_000

    /// Compiles the query and places the reader per `n` and `since`.
    ///
    /// - Parameters:
    ///   - sources: the selected sources (already checked against the query's names).
    ///   - paused: carried over from a previous query of the same connection.
    public init(
        query: Query, sources: [SourceHandle], writer: EnvelopeWriter,
        metrics: PipelineMetrics, paused: Bool = false
    ) throws(QueryError) {
        self.query = query
        self.sources = sources
        self.unitBytes = query.units.map { Array($0.utf8) }
        self.identifierBytes = query.identifiers.map { Array($0.utf8) }
        self.writer = writer
        self.metrics = metrics
        self.isPaused = paused
        let filter = try LineFilter(query)
        var cursors: [Cursor] = []
        var preamble: [ByteBuffer] = []
        for source in sources {
            let (first, next) = source.ring.bounds
            var cursor = Cursor(source: source, nextSeq: next, eventID: source.ring.nextEventID)
            if let point = query.since.last(where: { $0.source == source.name }) {
                if let epoch = point.epoch, epoch != source.epoch {
                    preamble.append(writer.restarted(source: source.name, oldEpoch: epoch, fromSeq: point.seq &+ 1))
                    source.metrics.dropped(.restarted).increment()
                    cursor.nextSeq = first
                } else {
                    cursor.nextSeq = min(point.seq &+ 1, next)
                    cursor.gapReason = .evicted
                    cursor.readsBackFirstGap = true
                    if cursor.nextSeq < first, source.readBack != nil {
                        // A journal source reads what left its ring back from the journal.
                        cursor.readBack = JournalReadBackCursor(from: cursor.nextSeq, until: first)
                        cursor.gapReason = nil
                    }
                }
            } else if let from = query.from {
                // Every held line at or after TIME (with `n`, the last n kept ones of those).
                let start = source.ring.firstSeq(atOrAfter: from.microseconds)
                if start.evicted, query.backlog == 0, source.readBack?.readsByTime == true, from.microseconds > 0 {
                    // A journal source reads the entries at or after TIME that left its ring back
                    // from the journal, numbered as they were; then the ring.
                    cursor.readBack = JournalReadBackCursor(fromRealtime: UInt64(from.microseconds), until: start.seq)
                    cursor.nextSeq = start.seq
                    cursors.append(cursor)
                    continue
                }
                if start.evicted {
                    preamble.append(writer.evicted(source: source.name, toSeq: start.seq - 1))
                    source.metrics.dropped(.evicted).increment()
                }
                if query.backlog > 0 {
                    cursor.backlog = BacklogScan(remaining: query.backlog, below: next, start: next, floor: start.seq)
                    cursor.silentGap = true
                    cursor.quietHolesBelow = next
                } else {
                    cursor.nextSeq = start.seq
                    // Lines at or after TIME that leave before the first read are a loss to report.
                    cursor.gapReason = .evicted
                }
            } else if query.backlog > 0 {
                if filter.isPassThrough, !query.hasJournalFilter {
                    cursor.nextSeq = source.ring.firstSeq(ofLast: query.backlog)
                } else {
                    cursor.backlog = BacklogScan(remaining: query.backlog, below: next, start: next)
                }
                cursor.silentGap = true
                cursor.quietHolesBelow = next
            }
            cursors.append(cursor)
        }
        self.filter = filter
        self.cursors = cursors
        self.preamble = preamble
    }

    /// Whether line `i` of `block` is kept: the journal filters, then the grep filter. The one
    /// decision for replay, live lines and context.
    @inline(__always)
    mutating func keeps(_ block: LineBlock, _ i: Int) -> Bool {
        guard journalKeeps(block, i) else { return false }
        return filter.keeps(block, i)
    }

    /// The first kept line in `from..<to`, or `nil`.
    private mutating func firstKept(_ block: LineBlock, from: Int, to: Int) -> Int? {
        if !query.hasJournalFilter {
            if let needle = filter.blockSearchNeedle {
                // Many clients with one filter: the block is searched once for all of them.
                return block.firstKept(literal: needle, from: from, to: to) { filter.firstKept(in: block, from: $0, to: $1) }
            }
            return filter.firstKept(in: block, from: from, to: to)
        }
        var i = from
        while i < to {
            if keeps(block, i) { return i }
            i += 1
        }
        return nil
    }

    /// Continues the `n` replay's backward scan of cursor `ci`; `false` when the budget ran
    /// out first.
    private mutating func scanBacklog(_ ci: Int, budget: inout WorkBudget) -> Bool {
        guard var scan = cursors[ci].backlog else { return true }
        let ring = cursors[ci].source.ring
        while scan.remaining > 0 {
            // The held lines only: the scan crosses holes silently.
            let slices = ring.lines(last: Self.readChunk, before: scan.below, notBelow: scan.floor)
            guard !slices.isEmpty else { break }
            for slice in slices.reversed() {
                var i = slice.end - 1
                while i >= slice.start {
                    if budget.spend() {
                        scan.below = slice.block.firstSeq + UInt64(i) + 1
                        cursors[ci].backlog = scan
                        return false
                    }
                    if keeps(slice.block, i) {
                        scan.remaining -= 1
                        scan.start = slice.block.firstSeq + UInt64(i)
                        if scan.remaining == 0 { break }
                    }
                    i -= 1
                }
                if scan.remaining == 0 { break }
            }
            scan.below = slices[0].firstSeq
        }
        cursors[ci].nextSeq = scan.start
        cursors[ci].backlog = nil
        return true
    }

    public mutating func pause() { isPaused = true }

    public mutating func resume() {
        guard isPaused else { return }
        isPaused = false
        for i in cursors.indices where cursors[i].gapReason == nil { cursors[i].gapReason = .paused }
    }

    /// Takes in sources that appeared after the query was made (another host joined the bus and
    /// the query named a glob, or every source): each is read from now on, like a source
    /// selected without `n`. Sources already read (by name) are skipped; returns those added.
    @discardableResult
    public mutating func adopt(_ handles: [SourceHandle]) -> [SourceHandle] {
        var added: [SourceHandle] = []
        for h in handles where !sources.contains(where: { $0.name == h.name }) {
            if let doorbell = readBackWake.current { h.ring.register(doorbell) }
            sources.append(h)
            cursors.append(Cursor(source: h, nextSeq: h.ring.bounds.next, eventID: h.ring.nextEventID))
            added.append(h)
        }
        return added
    }

    /// Moves cursor `ci` to the source that replaced its own, at its oldest held line.
    private mutating func moveCursor(_ ci: Int, to next: SourceHandle) {
        let old = cursors[ci].source
        if let doorbell = readBackWake.current {
            old.ring.unregister(doorbell)
            next.ring.register(doorbell)
        }
        if let i = sources.firstIndex(where: { $0 === old }) { sources[i] = next }
        var cursor = Cursor(source: next, nextSeq: next.ring.bounds.first, eventID: 0)
        cursor.gapReason = .evicted
        cursor.readsBackFirstGap = true
        cursors[ci] = cursor
    }

    /// Registers `doorbell` with every selected ring.
    public func register(_ doorbell: Doorbell) {
        readBackWake.set(doorbell)
        for s in sources { s.ring.register(doorbell) }
    }

    /// Unregisters `doorbell` from every selected ring.
    public func unregister(_ doorbell: Doorbell) {
        readBackWake.set(nil)
        for s in sources { s.ring.unregister(doorbell) }
    }

    /// The envelopes ready now, in the order they must be sent; empty when there is nothing
    /// (or when the budget ran out first: see ``hasPendingWork``).
    ///
    /// - Parameter budgetNanos: CPU time this call may take, roughly (checked every few lines).
    public mutating func poll(maxFrameBytes: Int, budgetNanos: Int64 = Subscription.defaultBudgetNanos) -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        lostLinesToSlowness = false
        hasPendingWork = false
        var budget = WorkBudget(nanoseconds: budgetNanos)
        // The `n` replay's scans first, so that every envelope goes out with a settled position.
        for ci in cursors.indices where cursors[ci].backlog != nil && !isPaused {
            if !scanBacklog(ci, budget: &budget) {
                hasPendingWork = true
                countLimitHits()
                return out
            }
        }
        for p in preamble { emit(p, into: &out) }
        preamble.removeAll()
        guard !isPaused, !cursors.isEmpty else { return out }
        var frame: LinesFrame?
        let n = cursors.count
        var full = false
        for k in 0..<n where !full {
            let ci = (startIndex + k) % n
            full = pollSource(ci, maxFrameBytes: maxFrameBytes, budget: &budget, frame: &frame, out: &out)
        }
        isLagging = full
        hasPendingWork = full || budget.isExhausted
        startIndex = (startIndex + 1) % n
        flush(&frame, into: &out)
        for i in cursors.indices where cursors[i].sent > 0 {
            linesSentTotal += cursors[i].sent
            cursors[i].source.metrics.linesSent.increment(by: Int64(cursors[i].sent))
            cursors[i].sent = 0
        }
        countLimitHits()
        return out
    }

    private mutating func countLimitHits() {
        if filter.limitHits > 0 {
            metrics.patternLimitHits.increment(by: Int64(filter.limitHits))
            filter.limitHits = 0
        }
    }

    /// Reads one source into `frame`; returns `true` when the frame is full.
    private mutating func pollSource(
        _ ci: Int, maxFrameBytes: Int, budget: inout WorkBudget,
        frame: inout LinesFrame?, out: inout [ByteBuffer]
    ) -> Bool {
        let source = cursors[ci].source
        if cursors[ci].readBack != nil {
            switch pollReadBack(ci, maxFrameBytes: maxFrameBytes, budget: &budget, frame: &frame, out: &out) {
            case .full: return true
            case .waiting: return false
            case .done: break
            }
        }
        while true {
            if budget.isExhausted { return true }
            let r = source.ring.read(from: cursors[ci].nextSeq, eventID: cursors[ci].eventID, maxLines: Self.readChunk)
            let silent = cursors[ci].silentGap && cursors[ci].gapReason == nil
            let reason = cursors[ci].gapReason ?? .slowConsumer
            cursors[ci].gapReason = nil
            cursors[ci].silentGap = false
            if let gap = r.gap, cursors[ci].readsBackFirstGap, !r.gapLostAtSource, source.readBack != nil {
                cursors[ci].readsBackFirstGap = false
                cursors[ci].readBack = JournalReadBackCursor(from: gap.lowerBound, until: gap.upperBound + 1)
                cursors[ci].gapReason = .evicted
                return pollSource(ci, maxFrameBytes: maxFrameBytes, budget: &budget, frame: &frame, out: &out)
            }
            if !r.isEmpty { cursors[ci].readsBackFirstGap = false }
            if let gap = r.gap, r.gapLostAtSource {
                // A hole: lines the source lost, whatever the cursor's reason; context never
                // spans it.
                if gap.lowerBound >= cursors[ci].quietHolesBelow {
                    flush(&frame, into: &out)
                    emit(writer.dropped(source: source.name, range: gap, reason: .evicted), into: &out)
                    source.metrics.dropped(.evicted).increment(by: Int64(gap.count))
                    linesDroppedTotal += gap.count
                }
                cursors[ci].nextSeq = gap.upperBound + 1
                cursors[ci].lastEmitted = max(cursors[ci].lastEmitted, gap.upperBound)
                cursors[ci].afterRemaining = 0
            } else if let gap = r.gap, silent {
                // The `n` replay's start left the ring while it was being found: `n` replays
                // what is held and reports no loss.
                _ = gap
            } else if let gap = r.gap {
                flush(&frame, into: &out)
                cursors[ci].nextSeq = gap.upperBound + 1
                emit(writer.dropped(source: source.name, range: gap, reason: reason), into: &out)
                source.metrics.dropped(reason).increment(by: Int64(gap.count))
                linesDroppedTotal += gap.count
                if reason == .slowConsumer { lostLinesToSlowness = true }
                cursors[ci].afterRemaining = 0
            }
            if !r.events.isEmpty {
                flush(&frame, into: &out)
                for e in r.events { emit(writer.event(source: source.name, e), into: &out) }
            }
            cursors[ci].eventID = r.nextEventID
            if r.slices.isEmpty {
                cursors[ci].nextSeq = r.nextSeq
                if r.isEmpty || r.nextSeq >= source.ring.bounds.next {
                    guard let next = source.successor else { return false }
                    // The source numbers its lines again (a new epoch): what came after this
                    // reader's place in the old one is unknown; the new epoch is read whole.
                    flush(&frame, into: &out)
                    emit(writer.restarted(source: source.name, oldEpoch: source.epoch, fromSeq: cursors[ci].nextSeq), into: &out)
                    next.metrics.dropped(.restarted).increment()
                    moveCursor(ci, to: next)
                    return pollSource(ci, maxFrameBytes: maxFrameBytes, budget: &budget, frame: &frame, out: &out)
                }
                continue
            }
            for slice in r.slices {
                if frame == nil { frame = LinesFrame(writer: writer, capacity: maxFrameBytes) }
                frame!.setSource(source.name)
                let stoppedAt = append(slice, cursor: ci, frame: &frame!, maxFrameBytes: maxFrameBytes, budget: &budget)
                if let stop = stoppedAt {
                    cursors[ci].nextSeq = stop
                    return true
                }
                cursors[ci].nextSeq = slice.block.firstSeq + UInt64(slice.end)
            }
        }
    }

    /// Appends the kept and context lines of `slice`; returns the `seq` to continue from when
    /// the frame filled up or the budget ran out before the end of the slice.
    private mutating func append(
        _ slice: LineSlice, cursor ci: Int, frame: inout LinesFrame,
        maxFrameBytes: Int, budget: inout WorkBudget
    ) -> UInt64? {
        let block = slice.block
        let limit = maxFrameBytes - 2  // the closing "]}"
        if filter.isPassThrough, query.after == 0, query.before == 0, !query.hasJournalFilter {
            // One copy per run of lines, cut where the frame would pass its bound.
            var i = slice.start
            while i < slice.end {
                var j = i
                var size = frame.size
                while j < slice.end {
                    let next = size + Int(block.records[j].jsonLength)
                    if next > limit, frame.count > 0 || j > i { break }
                    size = next
                    j += 1
                }
                if j == i { return block.firstSeq + UInt64(i) }
                frame.appendPlain(block, i, j)
                cursors[ci].sent += j - i
                cursors[ci].lastEmitted = block.firstSeq + UInt64(j - 1)
                i = j
            }
            return nil
        }
        let reportsSpans = filter.reportsSpans
        // A cheap whole-run search (one literal) takes the slice at once; pattern filters go
        // in short runs, so the budget is checked every few lines.
        let run = filter.searchesBlocks && !query.hasJournalFilter ? slice.count : Self.filterChunk
        var i = slice.start
        while i < slice.end {
            if budget.spend() { return block.firstSeq + UInt64(i) }
            let kept: Bool
            if cursors[ci].afterRemaining == 0 {
                // Skip to the next kept line at once.
                let runEnd = min(slice.end, i + run)
                guard let k = firstKept(block, from: i, to: runEnd) else {
                    i = runEnd
                    continue
                }
                i = k
                kept = true
            } else {
                // Lines the journal filters drop are not part of this client's stream, not even
                // as context.
                guard journalKeeps(block, i) else {
                    i += 1
                    continue
                }
                kept = filter.keeps(block, i)
            }
            let seq = block.firstSeq + UInt64(i)
            let record = block.records[i]
            if kept {
                var spans: [(Int, Int)] = []
                if reportsSpans {
                    spans = filter.matchOffsets(block, i)
                }
                let before = query.before > 0 ? beforeLines(seq, cursor: ci) : []
                var size = Int(record.jsonLength) + (spans.isEmpty ? 0 : 14 + spans.count * 24)
                for b in before { size += b.block.records[b.start..<b.end].reduce(0) { $0 + Int($1.jsonLength) + 15 } }
                if frame.count > 0, frame.size + size > limit { return seq }
                for b in before {
                    for k in b.start..<b.end { frame.append(b.block, k, context: true, extraFields: query.fields) }
                    cursors[ci].sent += b.count
                }
                frame.append(block, i, spans: spans, extraFields: query.fields)
                cursors[ci].lastEmitted = seq
                cursors[ci].afterRemaining = query.after
                cursors[ci].sent += 1
            } else if cursors[ci].afterRemaining > 0 {
                if frame.count > 0, frame.size + Int(record.jsonLength) + 15 > limit { return seq }
                frame.append(block, i, context: true, extraFields: query.fields)
                cursors[ci].afterRemaining -= 1
                cursors[ci].lastEmitted = seq
                cursors[ci].sent += 1
            }
            i += 1
        }
        return nil
    }

    /// The journal filters of the query (`priority`, `unit`, `identifier`) on line `i`.
    @inline(__always)
    private func journalKeeps(_ block: LineBlock, _ i: Int) -> Bool {
        guard query.hasJournalFilter else { return true }
        if let p = query.priority, Int(block.records[i].priority) > p { return false }
        if !unitBytes.isEmpty, !JournalFields.has(Self.unitKey, oneOf: unitBytes, in: block, i) { return false }
        if !identifierBytes.isEmpty, !JournalFields.has(Self.identifierKey, oneOf: identifierBytes, in: block, i) { return false }
        return true
    }

    /// The up to `B` lines before `seq` not yet sent, to go out as context: with journal
    /// filters, the last `B` lines they keep (looking back at most ``contextLookback`` lines).
    private func beforeLines(_ seq: UInt64, cursor ci: Int) -> [LineSlice] {
        let notBefore = cursors[ci].lastEmitted + 1
        guard query.hasJournalFilter else {
            let from = max(notBefore, seq > UInt64(query.before) ? seq - UInt64(query.before) : 1)
            guard from < seq else { return [] }
            return cursors[ci].source.ring.lines(from: from, to: seq)
        }
        let from = max(notBefore, seq > Self.contextLookback ? seq - Self.contextLookback : 1)
        guard from < seq else { return [] }
        var picked: [LineSlice] = []
        var wanted = query.before
        for slice in cursors[ci].source.ring.lines(from: from, to: seq).reversed() where wanted > 0 {
            var i = slice.end - 1
            var runEnd = -1
            while i >= slice.start, wanted > 0 {
                if journalKeeps(slice.block, i) {
                    if runEnd < 0 { runEnd = i + 1 }
                    wanted -= 1
                } else if runEnd >= 0 {
                    picked.append(LineSlice(block: slice.block, start: i + 1, end: runEnd))
                    runEnd = -1
                }
                i -= 1
            }
            if runEnd >= 0 { picked.append(LineSlice(block: slice.block, start: i + 1, end: runEnd)) }
        }
        return picked.reversed()
    }

    private func flush(_ frame: inout LinesFrame?, into out: inout [ByteBuffer]) {
        if var f = frame, f.count > 0 {
            emit(f.finish(), into: &out)
            frame = nil
        }
    }

    /// Adds one envelope to a poll's output; in the SSE format, with the resume position it
    /// leaves the reader at as its `id`.
    private func emit(_ envelope: ByteBuffer, into out: inout [ByteBuffer]) {
        guard writer.format == .sse else {
            out.append(envelope)
            return
        }
        var b = envelope
        writer.setEventID(resumePosition, in: &b)
        out.append(b)
    }

    /// The `seq` this reader reads next in each selected source, in ``sources`` order.
    public var nextSeqs: [UInt64] { cursors.map(\.nextSeq) }

    /// Whether some source is still reading lines that left its ring back (from the journal or
    /// the bus's stream); its lines come before the ring's.
    public var isReadingBack: Bool { cursors.contains { $0.readBack != nil } }

    /// Where this reader stands in every selected source, as `since` takes it:
    /// `SRC:SEQ:EPOCH,…` (SEQ is the last line read or skipped).
    public var resumePosition: String {
        cursors.map { c in
            // While a journal read-back runs, the reader stands where it is in the read-back.
            let next = c.readBack?.nextSeq ?? c.nextSeq
            return "\(c.source.name):\(max(next, 1) - 1):\(c.source.epoch)"
        }.joined(separator: ",")
    }
}

// MARK: - Journal read-back

extension Subscription {
    enum ReadBackPoll { case full, waiting, done }

    /// Sends what the read-back of cursor `ci` has ready, in `seq` order; `.done` when it has
    /// reached the ring (the caller continues there), `.waiting` when the journal thread has
    /// nothing ready yet (it rings the doorbell when it has), `.full` when the frame or the
    /// budget ran out.
    private mutating func pollReadBack(
        _ ci: Int, maxFrameBytes: Int, budget: inout WorkBudget,
        frame: inout LinesFrame?, out: inout [ByteBuffer]
    ) -> ReadBackPoll {
        let source = cursors[ci].source
        guard var rb = cursors[ci].readBack, let service = source.readBack else {
            cursors[ci].readBack = nil
            return .done
        }
        var finished = false
        defer { cursors[ci].readBack = finished ? nil : rb }
        while true {
            if budget.isExhausted { return .full }
            if let block = rb.block {
                if frame == nil { frame = LinesFrame(writer: writer, capacity: maxFrameBytes) }
                let slice = LineSlice(block: block, start: rb.index, end: block.count)
                if let stop = append(slice, cursor: ci, frame: &frame!, maxFrameBytes: maxFrameBytes, budget: &budget) {
                    rb.index = Int(stop - block.firstSeq)
                    return .full
                }
                rb.block = nil
                rb.from = block.firstSeq + UInt64(block.count)
                continue
            }
            guard let job = rb.job else {
                let wake = readBackWake
                rb.job = rb.start(on: service, wake: { wake.ring() })
                continue
            }
            if let item = job.take() {
                switch item {
                case .lines(let block):
                    rb.block = block
                    rb.index = 0
                case .gone(let range):
                    flush(&frame, into: &out)
                    emit(writer.dropped(source: source.name, range: range, reason: .evicted), into: &out)
                    source.metrics.dropped(.evicted).increment(by: Int64(range.count))
                    linesDroppedTotal += range.count
                    rb.from = range.upperBound + 1
                }
                continue
            }
            guard job.isDone else { return .waiting }
            if rb.from < rb.until {
                // The read-back ended early (this reader was slow): go on where it stopped.
                rb.job = nil
                rb.fromRealtime = nil
                continue
            }
            // The ring may have moved past `until` meanwhile: read that part back too.
            let first = source.ring.bounds.first
            if rb.until < first {
                rb = JournalReadBackCursor(from: rb.until, until: first)
                continue
            }
            cursors[ci].nextSeq = rb.until
            finished = true
            return .done
        }
    }
}
