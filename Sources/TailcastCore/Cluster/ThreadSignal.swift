import Dispatch
import Synchronization

/// Wakes a thread that blocks (not a task): `signal()` from any thread; `wait(nanoseconds:)`
/// returns at once if a signal came since the last wait, else at the next signal or the timeout.
///
/// Promises: signals that come while nobody waits are remembered once; a signal that comes
/// between a wait's return and the waiter's work is not lost (the flag is cleared before the
/// waiter works, and a later signal posts again).
public final class ThreadSignal: Sendable {
    private let pending = Atomic<Bool>(false)
    private let semaphore = DispatchSemaphore(value: 0)

    public init() {}

    public func signal() {
        if !pending.exchange(true, ordering: .acquiringAndReleasing) { semaphore.signal() }
    }

    /// Waits for a signal for at most `nanoseconds`; returns whether one came.
    @discardableResult
    public func wait(nanoseconds: Int64) -> Bool {
        let got = semaphore.wait(timeout: .now() + .nanoseconds(Int(max(0, nanoseconds)))) == .success
        if got { pending.store(false, ordering: .releasing) }
        return got
    }

    /// Waits for a signal for at most `millis`; returns whether one came.
    @discardableResult
    public func wait(millis: Int) -> Bool { wait(nanoseconds: Int64(millis) * 1_000_000) }
}
