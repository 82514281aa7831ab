import Foundation
import Synchronization

/// The one thread that performs rings' deferred wakeups (see ``WakePacing``): a ring whose
/// readers were woken less than an interval ago asks it to wake them at the interval's end.
///
/// Promises: never blocks a caller beyond a short lock; each scheduled wake happens once, at
/// or soon after its time; one thread for the whole process, asleep while nothing is due.
final class RingWaker: Sendable {
    static let shared = RingWaker()

    private let due = Mutex<[(at: Int64, ring: LineRing)]>([])
    private let signal = ThreadSignal()

    private init() {
        let t = Thread { [self] in run() }
        t.name = "tailcast-waker"
        t.start()
    }

    /// Wakes `ring`'s readers at `at` (monotonic nanoseconds).
    func schedule(_ ring: LineRing, at: Int64) {
        due.withLock { $0.append((at, ring)) }
        signal.signal()
    }

    private func run() {
        while true {
            let now = MonotonicClock.nanoseconds()
            let (fire, next) = due.withLock { due -> ([LineRing], Int64) in
                var fire: [LineRing] = []
                var next = Int64.max
                due.removeAll { entry in
                    if entry.at <= now {
                        fire.append(entry.ring)
                        return true
                    }
                    next = min(next, entry.at)
                    return false
                }
                return (fire, next)
            }
            for ring in fire { ring.deferredWake() }
            // Asleep until the next due wake, or a new one (a minute at most when none is due).
            if fire.isEmpty { signal.wait(nanoseconds: next == .max ? 60_000_000_000 : next - now) }
        }
    }
}
