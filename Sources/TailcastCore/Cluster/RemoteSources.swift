import Foundation
import Logging
import Synchronization

/// A viewer's side of the bus: every other host's sources, each fed into a local ring by one
/// ordered JetStream consumer (one per remote source per viewer, never per client), so clients
/// read remote sources exactly as local ones.
///
/// Promises:
/// - Learns sources from agents' heartbeats; a source's ring keeps the agent's `seq` and epoch,
///   so `since=HOST/NAME:SEQ:EPOCH` means the same on every viewer.
/// - A batch the ring already holds (a re-publish, a consumer re-created after a failover) is
///   skipped line by line; lines the agent lost, or the stream no longer holds, leave a hole in
///   the ring that readers get as an exact `dropped` `evicted`.
/// - An agent that sends no heartbeat for `agent_timeout_ms` (or says it stops) has its sources
///   `waiting` with a `missing` event; its next heartbeat brings them back with `reopened`.
/// - Messages are handled on the library's subscription threads and the liveness check on a
///   thread of its own; nothing here runs on an event loop or the cooperative pool.
public final class RemoteSources: Sendable {
    /// One remote source.
    struct Remote {
        let handle: SourceHandle
        var subscription: BusSubscription?
    }

    struct Host {
        var lastSeen: Int64  // monotonic nanoseconds
        var gone = false
        var sources: [String: Remote] = [:]
    }

    private let bus: BusConnection
    private let settings: ClusterSettings
    private let limits: SourceLimits
    private let metrics: PipelineMetrics
    private let logger: Logger
    private let busMetrics: BusMetrics
    private let hosts = Mutex<[String: Host]>([:])
    private let pending = Mutex<[AgentHeartbeat]>([])
    /// When each host's last heartbeat arrived (monotonic ns), noted on arrival: the liveness
    /// check must not blame an agent for the time this viewer's thread spent asking the stream.
    private let lastHeard = Mutex<[String: Int64]>([:])
    private let wake = ThreadSignal()
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private let heartbeats = Mutex<BusSubscription?>(nil)
    /// The last problem logged, so a problem that repeats every heartbeat is logged once.
    private let lastProblem = Mutex("")
    private let onChange: @Sendable ([SourceHandle]) -> Void

    /// - Parameter onChange: called with every remote source's handle whenever the set changes.
    public init(
        bus: BusConnection, settings: ClusterSettings, limits: SourceLimits, metrics: PipelineMetrics,
        busMetrics: BusMetrics, logger: Logger, onChange: @escaping @Sendable ([SourceHandle]) -> Void
    ) {
        self.busMetrics = busMetrics
        self.bus = bus
        self.settings = settings
        self.limits = limits
        self.metrics = metrics
        self.logger = logger
        self.onChange = onChange
    }

    /// Every remote source's handle now, sorted by name.
    public var handles: [SourceHandle] {
        hosts.withLock { h in h.values.flatMap { $0.sources.values.map(\.handle) } }.sorted { $0.name < $1.name }
    }

    /// Starts listening for heartbeats and the liveness thread.
    public func start() {
        let t = Thread { [self] in
            loop()
            done.signal()
        }
        t.name = "tailcast-viewer"
        t.start()
    }

    /// Stops every consumer and the thread.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        done.wait()
        heartbeats.withLock { $0?.cancel() }
        for r in hosts.withLock({ h in h.values.flatMap { $0.sources.values } }) { r.subscription?.cancel() }
    }

    private func loop() {
        let tick = max(50, min(250, settings.agentTimeoutMillis / 8))
        while !stopped.load(ordering: .acquiring) {
            if heartbeats.withLock({ $0 == nil }), bus.isConnected {
                do {
                    let sub = try bus.subscribeCore(subject: BusSubjects.heartbeatFilter) { [weak self] m in
                        guard let self, let beat = AgentHeartbeat.parse(m.data) else { return }
                        let now = monotonicNanos()
                        self.lastHeard.withLock { heard in
                            if heard[beat.host] != nil || heard.count < Self.maxHosts { heard[beat.host] = now }
                        }
                        // Bounded: heartbeats repeat, so one dropped while the thread is behind
                        // is made good by the next.
                        self.pending.withLock { if $0.count < Self.maxHosts { $0.append(beat) } }
                        self.wake.signal()
                    }
                    heartbeats.withLock { $0 = sub }
                } catch {
                    logger.warning("cannot listen for agents' heartbeats", metadata: ["error": "\(error)"])
                }
            }
            let beats = pending.withLock { p in
                let b = p
                p.removeAll()
                return b
            }
            var changed = false
            for beat in beats where !(settings.role == .both && beat.host == settings.host) {
                if apply(beat) { changed = true }
            }
            checkLiveness()
            busMetrics.agents.record(hosts.withLock { h in h.values.filter { !$0.gone }.count })
            if changed { onChange(handles) }
            wake.wait(millis: tick)
        }
    }

    /// Where a new remote source's ring and consumer start: at the first batch of its epoch the
    /// stream holds (so the ring numbers from there and the consumer skips older epochs), or,
    /// when the stream holds none, at the agent's oldest held line and the stream's end.
    struct Origin {
        var firstSeq: UInt64
        var start: BusConnection.Start
    }

    private func origin(host: String, _ s: AgentHeartbeat.Source) -> Origin {
        let subject = BusSubjects.source(host: host, name: s.name)
        do {
            guard let last = try bus.lastMessage(subject: subject) else { return Origin(firstSeq: s.first, start: .all) }
            let at = try StreamReadBack.firstStreamSeq(bus: bus, subject: subject, epoch: s.epoch, reaching: 0, upTo: last.streamSeq)
            guard at <= last.streamSeq, let m = try bus.message(subject: subject, atOrAfter: at),
                m.headers[BusSubjects.Header.epoch] == s.epoch,
                let first = m.headers[BusSubjects.Header.first].flatMap(UInt64.init)
            else { return Origin(firstSeq: s.first, start: .streamSeq(last.streamSeq + 1)) }
            return Origin(firstSeq: first, start: .streamSeq(m.streamSeq))
        } catch {
            warnOnce("cannot find where a remote source starts in the stream", "\(error)")
            return Origin(firstSeq: s.first, start: .all)
        }
    }

    /// Hosts a viewer follows at most (a bound on what the bus can make it hold).
    static let maxHosts = 4096

    /// Takes one heartbeat in; returns whether the set of sources changed.
    private func apply(_ beat: AgentHeartbeat) -> Bool {
        let now = monotonicNanos()
        let full = hosts.withLock { $0[beat.host] == nil && $0.count >= Self.maxHosts }
        if full {
            logger.warning("ignoring an agent: this viewer follows the most hosts it may", metadata: ["host": "\(beat.host)"])
            return false
        }
        // Sources new to this viewer (or in a new epoch): where each starts, found before the
        // lock (it asks the stream).
        let fresh = hosts.withLock { hosts in
            beat.sources.filter { s in hosts[beat.host]?.sources[s.name]?.handle.epoch != s.epoch }
        }
        var origins: [String: Origin] = [:]
        for s in fresh { origins[s.name] = origin(host: beat.host, s) }
        var changed = false
        var toCancel: [BusSubscription] = []
        var toStart: [(SourceHandle, BusConnection.Start)] = []
        hosts.withLock { hosts in
            var host = hosts[beat.host] ?? Host(lastSeen: now)
            host.lastSeen = now
            let wasGone = host.gone
            host.gone = beat.stopping
            for s in beat.sources {
                if let existing = host.sources[s.name], existing.handle.epoch == s.epoch {
                    if beat.stopping {
                        if !wasGone { markGone(existing.handle, "agent \(beat.host) stopped") }
                    } else {
                        existing.handle.setState(s.state)
                        if wasGone { existing.handle.ring.record(SourceEvent(.reopened, "agent \(beat.host) is back")) }
                    }
                    continue
                }
                guard let origin = origins[s.name] else { continue }  // appeared meanwhile: next heartbeat
                let previous = host.sources[s.name]
                if let sub = previous?.subscription { toCancel.append(sub) }
                let name = "\(beat.host)/\(s.name)"
                let handle = SourceHandle(
                    name: s.name, kind: s.kind, path: s.path, epoch: s.epoch,
                    ring: LineRing(maxLines: limits.ringLines, maxBytes: limits.ringBytes, firstSeq: origin.firstSeq),
                    metrics: metrics.forSource(name), host: beat.host)
                handle.setState(beat.stopping ? .waiting("agent \(beat.host) stopped") : s.state)
                handle.attach(
                    StreamReadBack(
                        bus: bus, subject: BusSubjects.source(host: beat.host, name: s.name), epoch: s.epoch, logger: logger))
                host.sources[s.name] = Remote(handle: handle, subscription: nil)
                // The agent numbers this source again (restarted without saved state): readers
                // of the old epoch move on to the new one with a `dropped` `restarted`.
                previous?.handle.supersede(by: handle)
                toStart.append((handle, origin.start))
                changed = true
            }
            if !beat.stopping {
                // Sources the agent no longer has (removed from its config): gone here too.
                let named = Set(beat.sources.map(\.name))
                for (name, r) in host.sources where !named.contains(name) {
                    markGone(r.handle, "agent \(beat.host) no longer has this source")
                    if let sub = r.subscription { toCancel.append(sub) }
                    host.sources[name] = nil
                    changed = true
                }
            }
            hosts[beat.host] = host
        }
        for sub in toCancel { sub.cancel() }
        for (handle, start) in toStart { subscribe(handle, from: start) }
        return changed
    }

    private func warnOnce(_ message: Logger.Message, _ detail: String) {
        let key = "\(message): \(detail)"
        let isNew = lastProblem.withLock { p -> Bool in
            guard p != key else { return false }
            p = key
            return true
        }
        guard isNew else { return }
        logger.warning(message, metadata: ["error": "\(detail)"])
    }

    private func markGone(_ handle: SourceHandle, _ why: String) {
        handle.setState(.waiting(why))
        handle.ring.record(SourceEvent(.missing, why))
    }

    /// Agents silent for `agent_timeout_ms`: their sources go `missing`.
    private func checkLiveness() {
        let now = monotonicNanos()
        let timeout = Int64(settings.agentTimeoutMillis) * 1_000_000
        let busUp = bus.isConnected
        let heard = lastHeard.withLock { $0 }
        hosts.withLock { hosts in
            for (name, var host) in hosts where !host.gone && now &- max(host.lastSeen, heard[name] ?? .min) > timeout {
                host.gone = true
                let silent = "no heartbeat from agent \(name) for \(settings.agentTimeoutMillis) ms"
                for r in host.sources.values {
                    markGone(r.handle, busUp ? silent : "this viewer lost the bus (\(silent))")
                }
                hosts[name] = host
                logger.warning("agent silent; its sources are missing", metadata: ["host": "\(name)"])
            }
        }
    }

    /// Starts the consumer that feeds `handle`'s ring (retried on the next heartbeat if it fails).
    private func subscribe(_ handle: SourceHandle, from start: BusConnection.Start) {
        let subject = BusSubjects.source(host: handle.host ?? "", name: handle.localName)
        do {
            let received = busMetrics.received
            let sub = try bus.subscribeOrdered(subject: subject, start: start) { m in
                received.increment()
                RemoteSources.take(m, into: handle)
            }
            hosts.withLock { hosts in
                guard let host = handle.host, hosts[host]?.sources[handle.localName]?.handle === handle else {
                    sub.cancel()
                    return
                }
                hosts[host]!.sources[handle.localName]!.subscription = sub
            }
        } catch {
            warnOnce("cannot consume a remote source", "\(handle.name): \(error)")
            // Forget it so the next heartbeat tries again.
            hosts.withLock { hosts in
                if let host = handle.host, hosts[host]?.sources[handle.localName]?.handle === handle {
                    hosts[host]!.sources[handle.localName] = nil
                }
            }
        }
    }

    /// One message of `handle`'s subject into its ring (on the subscription's thread).
    static func take(_ m: BusMessage, into handle: SourceHandle) {
        let h = m.headers
        guard h[BusSubjects.Header.epoch] == handle.epoch,
            let kind = h[BusSubjects.Header.kind].flatMap(BusSubjects.Kind.init(rawValue:)),
            let first = h[BusSubjects.Header.first].flatMap(UInt64.init),
            let next = h[BusSubjects.Header.next].flatMap(UInt64.init), next >= first
        else { return }
        let ring = handle.ring
        let held = ring.bounds.next
        switch kind {
        case .lines:
            guard next > held, let count = BusBatch.count(m.data), UInt64(count) == next - first else { return }
            let skip = held > first ? Int(held - first) : 0
            guard let block = BusBatch.decode(m.data, firstSeq: first, skipping: skip) else { return }
            handle.publish(block, bytesRead: m.data.count)
        case .dropped:
            ring.skip(to: next)
        case .event:
            guard first >= held,
                case .object(let o)? = try? JSONValue.parse(String(decoding: m.data, as: UTF8.self)),
                case .string(let k)? = o.first(where: { $0.0 == "event" })?.1,
                let kind = SourceEvent.Kind(rawValue: k)
            else { return }
            var detail = ""
            if case .string(let d)? = o.first(where: { $0.0 == "detail" })?.1 { detail = d }
            ring.skip(to: first)
            ring.record(SourceEvent(kind, detail))
        }
    }
}
