/// When a ring wakes its readers after an append: at once after a quiet spell, and while
/// appends keep coming at most once per interval that grows with the number of readers
/// (2 ms for 100, at most 40 ms; see ``interval(readers:)``).
///
/// Why: every wakeup is a task switch, a poll and, mostly, a frame and a `writev` per reader.
/// At 10 000 lines/s a wake per append costs a million wakeups a second with 100 readers. Paced,
/// the wakeups a second stay at 50 000 or fewer however many readers there are, each carrying a
/// batch, for at most the interval of added latency (2 ms with 100 readers, 40 ms with 1 000),
/// and none for a lone line or for a ring with a single reader at up to 50 000 appends/s.
///
/// Pure value, kept under the ring's lock; the caller supplies the monotonic time.
struct WakePacing {
    enum Decision: Equatable {
        /// Wake the readers now.
        case now
        /// Wake them at this time (schedule it).
        case at(Int64)
        /// A wake is already scheduled; it will show this append too.
        case pending
    }

    static let perReader: Int64 = 20_000
    static let maxInterval: Int64 = 40_000_000

    private var lastWake: Int64 = .min / 2
    private var scheduled = false

    /// 20 µs per reader up to 100 readers (2 ms), then growing with the square of the readers
    /// (8 ms at 200, 32 ms at 400), at most 40 ms: every wakeup costs each reader a poll and a
    /// frame, so the wakeups a second must fall as readers grow.
    static func interval(readers: Int) -> Int64 {
        let r = Int64(readers)
        return min(maxInterval, r * perReader * max(1, r / 100))
    }

    /// An append at `now` with `readers` registered.
    mutating func append(now: Int64, readers: Int) -> Decision {
        if scheduled { return .pending }
        let due = lastWake + Self.interval(readers: readers)
        if now >= due {
            lastWake = now
            return .now
        }
        scheduled = true
        return .at(due)
    }

    /// The scheduled wake happened at `now`.
    mutating func woke(now: Int64) {
        scheduled = false
        lastWake = now
    }
}
