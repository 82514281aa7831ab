import Testing

@testable import TailcastClient

@Suite struct ConnectionWatchTests {
    @Test func aServerWithinItsAllowanceIsWaitedForUntilTheDeadline() {
        let w = ConnectionWatch()
        guard case .wait(let left) = w.verdict(answerTimeout: .seconds(60)) else {
            Issue.record("overdue at once")
            return
        }
        #expect(left > .seconds(59) && left <= .seconds(61))
        w.greeted(heartbeatMillis: 15_000)
        guard case .wait(let greeted) = w.verdict(answerTimeout: .zero) else {
            Issue.record("overdue once greeted")
            return
        }
        #expect(greeted > .seconds(29), "greeted: two heartbeats of allowance")
    }

    @Test func silenceBeyondTheAnswerTimeoutIsOverdue() async throws {
        let w = ConnectionWatch()
        // The clock is monotonic: after 30 ms of silence, 30 ms have passed, whatever the load.
        try await Task.sleep(for: .milliseconds(30))
        guard case .overdue(let silence) = w.verdict(answerTimeout: .milliseconds(20)) else {
            Issue.record("not overdue")
            return
        }
        #expect(silence >= .milliseconds(30))
        guard case .wait(let before) = w.verdict(answerTimeout: .seconds(10)) else {
            Issue.record("overdue")
            return
        }
        w.heard()
        guard case .wait(let after) = w.verdict(answerTimeout: .seconds(10)) else {
            Issue.record("overdue")
            return
        }
        #expect(after > before, "hearing from the server resets the silence")
    }
}
