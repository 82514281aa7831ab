import Foundation

/// Wakes a thread that blocks (not a task): `signal()` from any thread; `wait(millis:)` returns
/// at once if a signal came since the last wait, else at the next signal or the timeout.
public final class ThreadSignal: @unchecked Sendable {
    // @unchecked: `flag` is only touched under `condition`'s lock.
    private let condition = NSCondition()
    private var flag = false

    public init() {}

    public func signal() {
        condition.lock()
        flag = true
        condition.signal()
        condition.unlock()
    }

    /// Waits for a signal for at most `millis`; returns whether one came.
    @discardableResult
    public func wait(millis: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: Double(millis) / 1000)
        while !flag {
            if !condition.wait(until: deadline) { break }
        }
        let got = flag
        flag = false
        return got
    }
}
