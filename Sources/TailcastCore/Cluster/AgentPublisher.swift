import Foundation
import Logging
import Synchronization

/// An agent's side of the bus: publishes each local source's lines, events and losses to its
/// subject in the stream, and a heartbeat outside it.
///
/// Promises:
/// - Runs on two threads of its own (publishing, heartbeats); reading a source never waits
///   for it: it reads the rings like any client, at its own pace.
/// - Publishes in rounds at most ``lingerNanos`` apart while lines keep coming (a lone line at
///   once), each message up to ``maxBatchBytes`` of consecutive lines.
/// - A round's messages (at most 16 per source) are pipelined, and the round counts only once
///   the stream acknowledged every one, so it always knows the last acknowledged `seq`; after a
///   failure (the bus down, a refusal, 5 s without the acknowledgements) every source goes back
///   to where the round began and publishes again, with the same message ids, so the stream
///   drops a batch it already stored. Lines that left the ring before they could be published are published as
///   one `dropped` message with their exact range.
/// - On start, continues after the last message the stream holds for the source's epoch.
public final class AgentPublisher: Sendable {
    /// A message's payload is kept below this (NATS's default limit is 1 MiB).
    static let maxBatchBytes = 512 << 10
    /// While lines keep coming, a round of publishing starts at most this long after the
    /// previous one, so lines go out in batches (each message costs the agent, the bus and the
    /// viewer about as much as its lines); a line after a quiet spell goes at once.
    static let lingerNanos: Int64 = 5_000_000

    private let bus: BusConnection
    private let settings: ClusterSettings
    private let sources: @Sendable () -> [SourceHandle]
    private let logger: Logger
    private let busMetrics: BusMetrics
    private let wake = ThreadSignal()
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private let heartbeatDone = DispatchSemaphore(value: 0)
    private let heartbeatWake = ThreadSignal()
    /// Distinguishes this run's event messages from an earlier run's with the same epoch.
    private let runID = String(UInt64(Timestamp.now().microseconds), radix: 36)

    /// How often heartbeats go out: a quarter of `agent_timeout_ms`, at most 2 s.
    public var heartbeatMillis: Int { max(100, min(2000, settings.agentTimeoutMillis / 4)) }

    public init(
        bus: BusConnection, settings: ClusterSettings, metrics: BusMetrics, logger: Logger,
        sources: @escaping @Sendable () -> [SourceHandle]
    ) {
        self.busMetrics = metrics
        self.bus = bus
        self.settings = settings
        self.sources = sources
        self.logger = logger
    }

    /// Starts the publishing and heartbeat threads.
    public func start() {
        let t = Thread { [self] in
            publishLoop()
            done.signal()
        }
        t.name = "tailcast-publish"
        t.start()
        let h = Thread { [self] in
            heartbeatLoop()
            heartbeatDone.signal()
        }
        h.name = "tailcast-heartbeat"
        h.start()
    }

    /// Stops both threads after a last heartbeat saying the agent stops.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        heartbeatWake.signal()
        done.wait()
        heartbeatDone.wait()
    }

    // MARK: heartbeats

    private func heartbeatLoop() {
        while !stopped.load(ordering: .acquiring) {
            sendHeartbeat(stopping: false)
            heartbeatWake.wait(millis: heartbeatMillis)
        }
        sendHeartbeat(stopping: true)
    }

    private func sendHeartbeat(stopping: Bool) {
        guard bus.isConnected else { return }
        let beat = AgentHeartbeat(
            host: settings.host, intervalMillis: heartbeatMillis, stopping: stopping,
            sources: sources().map { s in
                let (first, next) = s.ring.bounds
                return AgentHeartbeat.Source(
                    name: s.localName, kind: s.kind, path: s.path, state: s.state, epoch: s.epoch, first: first, next: next)
            })
        do {
            try bus.publishCore(subject: BusSubjects.heartbeat(host: settings.host), body: beat.json)
        } catch {
            logger.debug("heartbeat not sent", metadata: ["error": "\(error)"])
        }
    }

    // MARK: publishing

    /// One source's publishing position.
    private struct Cursor {
        let source: SourceHandle
        let subject: String
        let doorbell: Doorbell
        /// `nil` until the stream told where the source's epoch left off.
        var nextSeq: UInt64?
        var eventID: UInt64
        /// Messages sent in the current round.
        var sent = 0
    }

    private func publishLoop() {
        var cursors: [ObjectIdentifier: Cursor] = [:]
        var streamReady = false
        var lastProblem = ""
        defer { for c in cursors.values { c.source.ring.unregister(c.doorbell) } }
        var lastRound: Int64?
        while !stopped.load(ordering: .acquiring) {
            if let last = lastRound {
                // The previous round published: let lines gather until the linger has passed.
                let wait = last + Self.lingerNanos - MonotonicClock.nanoseconds()
                if wait > 0 { usleep(UInt32(wait / 1000)) }
            }
            // Follow the configured sources (a reload adds and removes some).
            let current = sources()
            let ids = Set(current.map(ObjectIdentifier.init))
            for (id, c) in cursors where !ids.contains(id) {
                c.source.ring.unregister(c.doorbell)
                cursors[id] = nil
            }
            for s in current where cursors[ObjectIdentifier(s)] == nil {
                let wake = self.wake
                let bell = Doorbell(onRing: { wake.signal() })
                s.ring.register(bell)
                cursors[ObjectIdentifier(s)] = Cursor(
                    source: s, subject: BusSubjects.source(host: settings.host, name: s.localName), doorbell: bell,
                    nextSeq: nil, eventID: s.ring.nextEventID)
            }
            guard bus.isConnected else {
                wake.wait(millis: 250)
                continue
            }
            var progressed = false
            let roundStart = MonotonicClock.nanoseconds()
            // A round's messages are pipelined; it counts as published once the stream
            // acknowledged them all. After a failure every cursor goes back to where the round
            // began and the round is published again (same message ids: the stream drops what
            // it already stored).
            let before = cursors
            let errorsBefore = bus.pipelineErrorCount
            do {
                if !streamReady {
                    try bus.ensureStream(settings)
                    streamReady = true
                }
                for id in Array(cursors.keys) {
                    if stopped.load(ordering: .acquiring) { break }
                    cursors[id]!.sent = 0
                    if try publish(&cursors[id]!) { progressed = true }
                }
                try bus.awaitPipelined(timeoutMillis: 5000, errorsBefore: errorsBefore)
                busMetrics.published.increment(by: Int64(cursors.values.reduce(0) { $0 + $1.sent }))
                if !lastProblem.isEmpty {
                    logger.info("publishing to the bus again")
                    lastProblem = ""
                }
            } catch {
                busMetrics.publishFailures.increment()
                bus.abandonPipelined()
                for (id, c) in before where cursors[id] != nil {
                    cursors[id]!.nextSeq = c.nextSeq
                    cursors[id]!.eventID = c.eventID
                }
                if error.description != lastProblem {
                    logger.warning("cannot publish to the bus; keeping the lines and trying again", metadata: ["error": "\(error)"])
                    lastProblem = error.description
                }
                if !bus.isConnected { streamReady = false }
                wake.wait(millis: 500)
                continue
            }
            lastRound = progressed ? roundStart : nil
            if !progressed { wake.wait(millis: 1000) }
        }
    }

    /// Publishes what `cursor`'s source has beyond it; returns whether anything was published.
    private func publish(_ cursor: inout Cursor) throws(BusError) -> Bool {
        let source = cursor.source
        let ring = source.ring
        if cursor.nextSeq == nil {
            // Where this epoch's publishing left off, as the stream says.
            let last = try bus.lastMessage(subject: cursor.subject)
            if let last, last.headers[BusSubjects.Header.epoch] == source.epoch,
                let next = last.headers[BusSubjects.Header.next].flatMap(UInt64.init)
            {
                cursor.nextSeq = next
            } else {
                cursor.nextSeq = ring.bounds.first
            }
        }
        var any = false
        // Messages per source per round: one busy source does not starve the rest, and a
        // round's pipelined messages stay within the library's bound (``BusConnection/maxPipelined``).
        var budget = 16
        // A round publishes what the ring held when it began; lines that come meanwhile wait
        // for the next round (and go out with the lines after them).
        let roundEnd = ring.bounds.next
        while budget > 0 {
            let from = cursor.nextSeq!
            let r = ring.read(from: from, eventID: cursor.eventID, maxLines: 1 << 16)
            if r.isEmpty && r.nextEventID == cursor.eventID { return any }
            if let gap = r.gap {
                try send(&cursor, kind: .dropped, first: gap.lowerBound, next: gap.upperBound + 1, body: [])
                cursor.nextSeq = gap.upperBound + 1
                any = true
            }
            if !r.events.isEmpty {
                var id = cursor.eventID
                for e in r.events {
                    let body = Array("{\"event\":\"\(e.kind.rawValue)\",\"detail\":\(JSONString.quoted(e.detail))}".utf8)
                    try send(&cursor, kind: .event, first: cursor.nextSeq!, next: cursor.nextSeq!, body: body, id: "\(runID).\(id)")
                    id += 1
                }
                any = true
            }
            cursor.eventID = r.nextEventID
            // One message carries consecutive lines across ring blocks, up to the size bound,
            // so a backlog goes out in few large messages.
            var pending: [LineSlice] = []
            var bytes = 0
            func flush() throws(BusError) {
                guard let first = pending.first else { return }
                let last = pending[pending.count - 1]
                let next = last.block.firstSeq + UInt64(last.end)
                try send(&cursor, kind: .lines, first: first.firstSeq, next: next, body: BusBatch.encode(pending))
                cursor.nextSeq = next
                any = true
                budget -= 1
                pending.removeAll(keepingCapacity: true)
                bytes = 0
            }
            for slice in r.slices {
                let recs = slice.block.records
                var i = slice.start
                while i < slice.end {
                    var j = i
                    while j < slice.end {
                        let r = recs[j]
                        let size = Int(r.textLength + r.jsonLength + r.metaLength + r.matchLength) + BusBatch.recordBytes
                        if bytes + size > Self.maxBatchBytes, bytes > 0 || j > i { break }
                        bytes += size
                        j += 1
                    }
                    if j > i { pending.append(LineSlice(block: slice.block, start: i, end: j)) }
                    if j < slice.end { try flush() }
                    i = j
                }
            }
            try flush()
            if r.slices.isEmpty { cursor.nextSeq = max(cursor.nextSeq!, r.nextSeq) }
            if r.slices.isEmpty && r.gap == nil && r.events.isEmpty { return any }
            if cursor.nextSeq! >= roundEnd { return any }
        }
        wake.signal()  // more to publish: come back after the other sources
        return any
    }

    private func send(
        _ cursor: inout Cursor, kind: BusSubjects.Kind, first: UInt64, next: UInt64, body: [UInt8], id: String? = nil
    ) throws(BusError) {
        let source = cursor.source
        let headers = [
            (BusSubjects.Header.kind, kind.rawValue),
            (BusSubjects.Header.epoch, source.epoch),
            (BusSubjects.Header.first, String(first)),
            (BusSubjects.Header.next, String(next)),
            (BusSubjects.Header.sourceKind, source.kind.rawValue),
        ]
        let msgID = "\(settings.host)/\(source.localName):\(source.epoch):\(kind.rawValue):\(id ?? "\(first)-\(next)")"
        try bus.publishPipelined(subject: cursor.subject, headers: headers, body: body, msgID: msgID)
        cursor.sent += 1
    }
}
