/// When a ring wakes its readers after an append: at once after a quiet spell, and while
/// appends keep coming at most once per interval that grows with the number of readers
/// (20 µs per reader, at most 20 ms).
///
/// Why: every wakeup is a task switch, a poll and, mostly, a frame and a `writev` per reader.
/// At 10 000 lines/s a wake per append costs a million wakeups a second with 100 readers. Paced,
/// the wakeups a second stay near 50 000 however many readers there are, each carrying a
/// batch, for at most the interval of added latency (2 ms with 100 readers, 20 ms with 1 000),
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
    static let maxInterval: Int64 = 20_000_000

    private var lastWake: Int64 = .min / 2
    private var scheduled = false

    static func interval(readers: Int) -> Int64 { min(maxInterval, Int64(readers) * perReader) }

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
