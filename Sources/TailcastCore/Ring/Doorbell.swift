import Synchronization

/// Wakes one waiting task; rings that arrive while nobody waits are remembered (once).
///
/// Promises: `ring()` never blocks and may be called from any thread; `wait()` returns at once
/// if a ring came since the last wait, otherwise suspends until the next ring or cancellation.
/// Only one task may wait at a time.
public final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    private let hook: (@Sendable () -> Void)?

    /// - Parameter onRing: also called on every ring (a thread that blocks instead of awaiting
    ///   uses it to wake itself; see ``ThreadSignal``).
    public init(onRing: (@Sendable () -> Void)? = nil) {
        hook = onRing
    }

    /// Wakes the waiter, or lets the next `wait()` return at once.
    public func ring() {
        hook?()
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Suspends until rung (or returns at once if it already was); cancellation counts as a ring.
    public func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.rung || Task.isCancelled {
                        s.rung = false
                        return true
                    }
                    s.waiter = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            ring()
        }
    }
}
