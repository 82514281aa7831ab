import Synchronization
import TailcastCore

/// When a connection last sent, and since when a write has been waiting: shared by its
/// connection (which sets them) and the watchdog (which reads them).
final class ConnectionClock: Sendable {
    private let lastSent = Atomic<Int64>(0)
    private let writeSince = Atomic<Int64>(0)

    init() {
        lastSent.store(Self.now(), ordering: .relaxed)
    }

    static func now() -> Int64 {
        MonotonicClock.nanoseconds()
    }

    /// A frame was handed to the channel.
    func sent() { lastSent.store(Self.now(), ordering: .relaxed) }

    /// The channel stopped taking frames (the peer is not reading).
    func writeStarted() { writeSince.store(Self.now(), ordering: .relaxed) }

    /// The channel takes frames again.
    func writeFinished() {
        writeSince.store(0, ordering: .relaxed)
        lastSent.store(Self.now(), ordering: .relaxed)
    }

    /// Nanoseconds since the last completed write.
    var idleNanos: Int64 { Self.now() - lastSent.load(ordering: .relaxed) }

    /// Nanoseconds the current write has been waiting, or 0.
    var writeWaitNanos: Int64 {
        let s = writeSince.load(ordering: .relaxed)
        return s == 0 ? 0 : Self.now() - s
    }
}

/// What a connection did, for the one structured log line written when it closes.
final class ConnectionTally: Sendable {
    private let sent = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)

    func add(sent s: Int, dropped d: Int) {
        sent.add(s, ordering: .relaxed)
        dropped.add(d, ordering: .relaxed)
    }

    var linesSent: Int { sent.load(ordering: .relaxed) }
    var linesDropped: Int { dropped.load(ordering: .relaxed) }
}
