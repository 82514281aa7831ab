/// How much CPU one ``Subscription/poll(maxFrameBytes:budgetNanos:)`` may spend before it
/// hands the thread back, so that one client's query (a slow pattern over a full ring) never
/// starves the others, the health checks or shutdown.
///
/// Promises: ``spend()`` is O(1) and reads the clock once per ``checkEvery`` calls; it reports
/// exhaustion once the deadline has passed or the current task is cancelled, and keeps
/// reporting it from then on.
public struct WorkBudget {
    /// Calls to ``spend()`` between two clock reads.
    static let checkEvery = 16

    private let deadline: Int64
    private var calls = 0
    public private(set) var isExhausted = false

    /// A budget of `nanoseconds` from now; `Int64.max` never runs out (but still notices
    /// cancellation).
    public init(nanoseconds: Int64) {
        if nanoseconds == .max {
            deadline = .max
        } else {
            deadline = MonotonicClock.nanoseconds() &+ max(0, nanoseconds)
        }
    }

    /// Counts one unit of work (a line, or a short run of lines); `true` when the poll must stop.
    @inline(__always)
    public mutating func spend() -> Bool {
        if isExhausted { return true }
        calls &+= 1
        guard calls % Self.checkEvery == 0 else { return false }
        if Task.isCancelled || (deadline != .max && MonotonicClock.nanoseconds() >= deadline) {
            isExhausted = true
        }
        return isExhausted
    }
}
