import Foundation
import Logging
import Synchronization

/// Reads a journal source's entries that left its ring back from the journal, numbered with
/// the `seq` they had, for a reader whose `since` (or `from`) is older than the ring.
///
/// Promises:
/// - Holds the source's ``JournalSeqIndex`` (bounded: ``JournalSeqIndex/capacity`` samples),
///   fed by the journal thread.
/// - Each read-back runs on a thread of its own with its own journal handle (never on the
///   cooperative pool or an event loop); at most ``maxRunning`` run at once per source, later
///   ones wait their turn. A read-back whose reader stalls ends after ``idleSeconds`` without
///   taking anything, so stalled readers cannot hold every slot. Each hands at most ``handOffBlocks`` blocks of at most
///   ``blockLines`` lines (``blockBytes`` bytes) to its reader before it waits for the reader.
/// - Lines are rendered by the same ``JournalEntryRenderer`` as live ones: same fragments.
/// - Entries that cannot be read back (vacuumed, never indexed) are reported as one `gone`
///   range each, in `seq` order with the lines.
public final class JournalReadBack: ReadBackService {
    public static let maxRunning = 4
    public static let blockLines = 1024
    public static let blockBytes = 1 << 20
    public static let handOffBlocks = 4
    /// A read-back whose reader takes nothing for this long ends early (see ``JournalReadBackChannel``).
    public static let idleSeconds = 10

    private let source: String
    private let settings: JournalSourceSettings
    private let logger: Logger
    private struct State {
        var index = JournalSeqIndex()
        var running = 0
        var waiting: [(JournalReadBackChannel, JournalReadBackWorker)] = []
        var live: [ObjectIdentifier: JournalReadBackChannel] = [:]
        var stopped = false
    }
    private let state = Mutex(State())

    public init(
        source: String, settings: JournalSourceSettings, logger: Logger,
        index: JournalSeqIndex = JournalSeqIndex()
    ) {
        self.source = source
        self.settings = settings
        self.logger = logger
        state.withLock { $0.index = index }
    }

    // MARK: the journal thread's side

    /// Records a sample; returns the next `seq` the index wants.
    func record(_ sample: JournalSeqIndex.Sample) -> UInt64 {
        state.withLock { s in
            s.index.record(sample)
            return s.index.nextWanted
        }
    }

    /// Forgets the index (the reader reopened the journal; its numbering is not continuous).
    func reset() {
        state.withLock { $0.index.reset() }
    }

    /// A copy of the index.
    public var index: JournalSeqIndex { state.withLock { $0.index } }

    /// Cancels every read-back and refuses new ones (the source stops).
    func cancelAll() {
        let (running, waiting) = state.withLock { s -> ([JournalReadBackChannel], [JournalReadBackChannel]) in
            s.stopped = true
            let waiting = s.waiting.map(\.0)
            for c in waiting { s.live.removeValue(forKey: ObjectIdentifier(c)) }
            s.waiting.removeAll()
            return (Array(s.live.values), waiting)
        }
        // A reader whose read-back ends this way starts a new one, which reports the rest as
        // gone (the source is stopped).
        for c in running { c.cancel() }
        for c in waiting { c.finish() }
    }

    // MARK: the readers' side

    /// The journal is searched by realtime too.
    public var readsByTime: Bool { true }

    /// Reads entries `from..<until` back (`until` is where the reader's ring part starts).
    /// `wake` is called whenever the job has something new for its reader.
    public func readBack(from: UInt64, until: UInt64, wake: @escaping @Sendable () -> Void) -> JournalReadBackJob {
        start(.seq(from), until: until, wake: wake)
    }

    /// Reads back the entries from the first one whose realtime is at or after `realtime` (µs)
    /// up to `until` (for `from=TIME`). Entries before the oldest one still found are not
    /// reported as gone: a time start has no `seq` to be exact about.
    public func readBack(
        fromRealtime realtime: UInt64, until: UInt64,
        wake: @escaping @Sendable () -> Void
    ) -> JournalReadBackJob {
        start(.realtime(realtime), until: until, wake: wake)
    }

    private func start(
        _ origin: JournalReadBackWorker.Origin, until: UInt64,
        wake: @escaping @Sendable () -> Void
    ) -> JournalReadBackJob {
        let channel = JournalReadBackChannel(wake: wake)
        let worker = JournalReadBackWorker(source: source, settings: settings, origin: origin, until: until)
        let runNow = state.withLock { s -> Bool? in
            if s.stopped { return nil }
            s.live[ObjectIdentifier(channel)] = channel
            if s.running < Self.maxRunning {
                s.running += 1
                return true
            }
            s.waiting.append((channel, worker))
            return false
        }
        switch runNow {
        case nil: channel.finish(gone: origin.firstSeq < until ? origin.firstSeq...(until - 1) : nil)
        case true?: launch(channel, worker)
        case false?: break
        }
        return JournalReadBackJob(channel)
    }

    private func launch(_ channel: JournalReadBackChannel, _ worker: JournalReadBackWorker) {
        let samples = state.withLock { $0.index.samples }
        let logger = self.logger
        let thread = Thread { [self] in
            worker.run(channel: channel, samples: samples, logger: logger)
            let next = state.withLock { s -> (JournalReadBackChannel, JournalReadBackWorker)? in
                s.live.removeValue(forKey: ObjectIdentifier(channel))
                if s.waiting.isEmpty {
                    s.running -= 1
                    return nil
                }
                return s.waiting.removeFirst()
            }
            if let next { launch(next.0, next.1) }
        }
        thread.name = "tailcast-readback"
        thread.start()
    }
}

/// What a read-back hands its reader, in `seq` order.
public enum JournalReadBackItem: Sendable {
    case lines(LineBlock)
    /// Requested entries the journal no longer holds.
    case gone(ClosedRange<UInt64>)
}

/// A reader's handle on one read-back: takes what is ready, never blocks. Dropping it (the
/// client went away, or replaced its query) cancels the read-back.
public final class JournalReadBackJob: Sendable {
    private let channel: JournalReadBackChannel

    init(_ channel: JournalReadBackChannel) { self.channel = channel }

    deinit { channel.cancel() }

    /// The next item, if one is ready.
    public func take() -> JournalReadBackItem? { channel.take() }

    /// `true` once every item was taken and the read-back ended.
    public var isDone: Bool { channel.isDone }
}

/// The bounded hand-off between a read-back thread and its reader.
final class JournalReadBackChannel: Sendable {
    private struct State {
        var items: [JournalReadBackItem] = []
        var head = 0
        var ended = false
        var cancelled = false
    }
    private let state = Mutex(State())
    private let space = DispatchSemaphore(value: JournalReadBack.handOffBlocks)
    private let wake: @Sendable () -> Void

    init(wake: @escaping @Sendable () -> Void) { self.wake = wake }

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    var isDone: Bool { state.withLock { $0.ended && $0.head == $0.items.count } }

    func take() -> JournalReadBackItem? {
        let item = state.withLock { s -> JournalReadBackItem? in
            guard s.head < s.items.count else { return nil }
            let item = s.items[s.head]
            s.head += 1
            if s.head == s.items.count {
                s.items.removeAll(keepingCapacity: true)
                s.head = 0
            }
            return item
        }
        if case .lines? = item { space.signal() }
        return item
    }

    /// Hands one item over, waiting while the hand-off is full; `false` when cancelled, or
    /// when the reader took nothing for ``JournalReadBack/idleSeconds`` (the read-back then
    /// ends early, freeing its thread; the reader starts a new one where it stopped).
    func put(_ item: JournalReadBackItem) -> Bool {
        if case .lines = item, space.wait(timeout: .now() + .seconds(JournalReadBack.idleSeconds)) == .timedOut {
            return false
        }
        let ok = state.withLock { s -> Bool in
            if s.cancelled { return false }
            s.items.append(item)
            return true
        }
        if ok { wake() }
        return ok
    }

    /// Ends the read-back (after a last `gone`, if any).
    func finish(gone: ClosedRange<UInt64>? = nil) {
        state.withLock { s in
            if let gone, !s.cancelled { s.items.append(.gone(gone)) }
            s.ended = true
        }
        wake()
    }

    func cancel() {
        let first = state.withLock { s -> Bool in
            defer { s.cancelled = true }
            return !s.cancelled
        }
        if first { space.signal() }
    }
}
