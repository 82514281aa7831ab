import Synchronization

/// When one connection last heard from its server, for the watchdog that abandons a connection
/// the server no longer answers on (the server sends a heartbeat after `heartbeat_ms` of
/// silence, so two missed heartbeats mean it is gone).
///
/// Promises: lock-free; the verdict is `wait` while the server is within its allowance, and
/// says for how long, so the watchdog sleeps until the deadline instead of polling.
final class ConnectionWatch: Sendable {
    private let start = ContinuousClock.now
    /// Milliseconds from `start` to the last envelope.
    private let lastHeard = Atomic<Int>(0)
    /// The server's `heartbeat_ms` once greeted, else 0.
    private let heartbeatMillis = Atomic<Int>(0)

    func heard() {
        lastHeard.store(Self.millis(start.duration(to: .now)), ordering: .relaxed)
    }

    func greeted(heartbeatMillis: Int) {
        self.heartbeatMillis.store(max(0, heartbeatMillis), ordering: .relaxed)
    }

    /// What the watchdog should do now.
    enum Verdict: Equatable {
        /// The server has been silent this long, longer than it may be.
        case overdue(silence: Duration)
        /// Check again after this long.
        case wait(Duration)
    }

    /// The server may be silent for `answerTimeout` before its `hello`, then for two heartbeats
    /// plus `answerTimeout`.
    func verdict(answerTimeout: Duration) -> Verdict {
        let silence = start.duration(to: .now) - .milliseconds(lastHeard.load(ordering: .relaxed))
        let heartbeat = heartbeatMillis.load(ordering: .relaxed)
        let allowance = heartbeat > 0 ? .milliseconds(2 * heartbeat) + answerTimeout : answerTimeout
        return silence > allowance ? .overdue(silence: silence) : .wait(allowance - silence + .milliseconds(10))
    }

    private static func millis(_ d: Duration) -> Int {
        let c = d.components
        return Int(c.seconds) * 1000 + Int(c.attoseconds / 1_000_000_000_000_000)
    }
}
