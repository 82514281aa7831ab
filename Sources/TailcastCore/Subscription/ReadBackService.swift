/// Reads a source's lines that left its ring back from where they are still kept (the
/// journal for a journal source, the bus's stream for another host's source), numbered as
/// they were, for a reader whose `since` (or `from`) starts before the ring.
///
/// Promises: a job hands its reader blocks in `seq` order and a `gone` range for each run of
/// lines that is no longer kept anywhere; it never blocks the reader (``JournalReadBackJob``
/// `take()` returns what is ready) and is cancelled when its job is dropped.
public protocol ReadBackService: Sendable {
    /// Reads `from..<until` back; `wake` is called whenever the job has something new.
    func readBack(from: UInt64, until: UInt64, wake: @escaping @Sendable () -> Void) -> JournalReadBackJob
    /// Whether ``readBack(fromRealtime:until:wake:)`` can find a start by time.
    var readsByTime: Bool { get }
    /// Reads back from the first line at or after `fromRealtime` (µs) up to `until`.
    func readBack(fromRealtime: UInt64, until: UInt64, wake: @escaping @Sendable () -> Void) -> JournalReadBackJob
}
