import Foundation
import Synchronization

/// The one thread that performs rings' deferred wakeups (see ``WakePacing``): a ring whose
/// readers were woken less than an interval ago asks it to wake them at the interval's end.
///
/// Promises: never blocks a caller beyond a short lock; each scheduled wake happens once, at
/// or soon after its time; one thread for the whole process, asleep while nothing is due.
final class RingWaker: @unchecked Sendable {
    // @unchecked: `due` is only touched under `condition`'s lock.
    static let shared = RingWaker()

    private let condition = NSCondition()
    private var due: [(at: Int64, ring: LineRing)] = []

    private init() {
        let t = Thread { [self] in run() }
        t.name = "tailcast-waker"
        t.start()
    }

    /// Wakes `ring`'s readers at `at` (monotonic nanoseconds).
    func schedule(_ ring: LineRing, at: Int64) {
        condition.lock()
        due.append((at, ring))
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while due.isEmpty { condition.wait() }
            let now = MonotonicClock.nanoseconds()
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
            if fire.isEmpty {
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(next - now) / 1e9))
                condition.unlock()
                continue
            }
            condition.unlock()
            for ring in fire { ring.deferredWake() }
        }
    }
}
