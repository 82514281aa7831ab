import Synchronization

/// A reader's read-back of one journal source: the entries `from..<until` come from the
/// journal itself (they left the ring), then the reader continues in the ring at `until`.
struct JournalReadBackCursor {
    /// The first entry not yet sent.
    var from: UInt64
    /// Where the ring part starts.
    var until: UInt64
    /// The running read-back (started at the first poll, once the doorbell is known).
    var job: JournalReadBackJob?
    /// A block taken from the job and not sent to its end, and where to continue in it.
    var block: LineBlock?
    var index = 0
}

/// The doorbell a subscription's read-backs ring (set by `register`, cleared by `unregister`).
final class ReadBackWake: Sendable {
    private let doorbell = Mutex<Doorbell?>(nil)

    func set(_ d: Doorbell?) { doorbell.withLock { $0 = d } }

    func ring() { doorbell.withLock { $0 }?.ring() }
}
