/// Paces one reader's polls of its rings: a line that comes after a quiet spell is read at
/// once, while lines that keep coming are read in batches, at most one poll per ``interval``.
///
/// Why: every append rings every reader of the ring; at 10 000 lines/s and 100 readers that is
/// a million wakeups a second, each a task switch and a poll that may find nothing the
/// reader's filter keeps. Pacing bounds each reader to `1 / interval` polls a second whatever
/// the line rate, for at most `interval` of added latency, and none for a lone line.
///
/// Pure value: the caller supplies the monotonic time and waits the returned delay.
public struct ReadPacing: Sendable {
    /// The shortest time between two polls while lines keep coming.
    public let interval: Int64
    private var lastPoll: Int64 = .min / 2

    public init(intervalNanos: Int64 = 1_000_000) {
        self.interval = intervalNanos
    }

    /// How long to wait before polling after a wakeup at `now` (0: poll now).
    public func delay(now: Int64) -> Int64 {
        max(0, lastPoll + interval - now)
    }

    /// Records a poll at `now`.
    public mutating func polled(at now: Int64) {
        lastPoll = now
    }
}
