import Synchronization

/// A reader's read-back of one journal source: the entries `from..<until` come from the
/// journal itself (they left the ring), then the reader continues in the ring at `until`.
///
/// For `from=TIME` on a journal source whose ring starts after TIME, set
/// `cursor.readBack = JournalReadBackCursor(fromRealtime: micros, until: ring.bounds.first)`:
/// the entries from the first one at or after TIME come first, then the ring from `until`.
struct JournalReadBackCursor {
    /// The first entry not yet sent.
    var from: UInt64
    /// With a time start: the realtime (µs) of the first wanted entry; `from` is then only
    /// known once the first block arrives.
    var fromRealtime: UInt64?
    /// Where the ring part starts.
    var until: UInt64
    /// The running read-back (started at the first poll, once the doorbell is known).
    var job: JournalReadBackJob?
    /// A block taken from the job and not sent to its end, and where to continue in it.
    var block: LineBlock?
    var index = 0

    /// The `seq` this read-back sends next (its reader's place while it runs).
    var nextSeq: UInt64 { block.map { $0.firstSeq + UInt64(index) } ?? from }

    init(from: UInt64, until: UInt64) {
        self.from = from
        self.until = until
    }

    init(fromRealtime: UInt64, until: UInt64) {
        self.from = until
        self.until = until
        self.fromRealtime = fromRealtime
    }

    /// Starts the read-back on `service`.
    func start(on service: any ReadBackService, wake: @escaping @Sendable () -> Void) -> JournalReadBackJob {
        if let t = fromRealtime { return service.readBack(fromRealtime: t, until: until, wake: wake) }
        return service.readBack(from: from, until: until, wake: wake)
    }
}

/// The doorbell a subscription's read-backs ring (set by `register`, cleared by `unregister`).
final class ReadBackWake: Sendable {
    private let doorbell = Mutex<Doorbell?>(nil)

    func set(_ d: Doorbell?) { doorbell.withLock { $0 = d } }

    /// The doorbell registered now.
    var current: Doorbell? { doorbell.withLock { $0 } }

    func ring() { doorbell.withLock { $0 }?.ring() }
}
