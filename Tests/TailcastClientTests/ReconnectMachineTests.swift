import Testing

@testable import TailcastClient

@Suite struct ReconnectMachineTests {
    typealias Action = ReconnectMachine.Action
    let t0 = ContinuousClock.now

    func machine(retry: Duration = .seconds(15)) -> ReconnectMachine {
        ReconnectMachine(server: "h:1", retryFor: retry, now: t0)
    }

    func hello(_ epochs: [String: String], _ seqs: [String: UInt64]) -> ServerMessage.Hello {
        .init(sources: epochs.keys.sorted(), epochs: epochs, seqs: seqs, heartbeatMillis: 15000)
    }

    func line(_ source: String, _ seq: UInt64) -> LineRecord { LineRecord(source: source, seq: seq, text: "l\(seq)") }

    @Test func firstConnectSendsNoSince() {
        var m = machine()
        let a = m.start(now: t0)
        #expect(a == [.connect(since: [])])
    }

    @Test func aServerThatHangsUpRightAfterHelloIsAskedAgainWithGrowingDelays() {
        var m = machine()
        _ = m.start(now: t0)
        var t = t0
        var waits: [Duration] = []
        for _ in 0..<6 {
            _ = m.hello(hello(["app": "e1"], ["app": 0]), now: t)
            for a in m.ended(.closed(code: 1000, reason: ""), now: t + .milliseconds(10)) {
                if case .wait(let d) = a {
                    waits.append(d)
                    t = t + d
                }
            }
        }
        #expect(
            waits == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600), .seconds(2)])
        _ = m.hello(hello(["app": "e1"], ["app": 0]), now: t)
        let later = m.ended(.closed(code: 1001, reason: ""), now: t + .seconds(30))
        #expect(!later.contains { if case .wait = $0 { true } else { false } }, "a connection that lasted reconnects at once")
    }

    @Test func aLostConnectionReconnectsAtOnceWithSinceFromTheLastLineShown() {
        var m = machine()
        _ = m.start(now: t0)
        let greeting = m.hello(hello(["app": "e1"], ["app": 40]), now: t0)
        #expect(greeting.isEmpty)
        let kept = m.admit([line("app", 41), line("app", 42)])
        #expect(kept.count == 2)
        let actions = m.ended(.closed(code: 1001, reason: "server shutting down"), now: t0 + .seconds(5))
        #expect(
            actions == [
                .notice(.connectionLost(reason: "closed by the server: server shutting down")),
                .connect(since: [ResumePoint(source: "app", seq: 42, epoch: "e1")]),
            ])
    }

    @Test func failedAttemptsBackOffDoublingUpToTheCapWithOneNotice() {
        var m = machine()
        _ = m.start(now: t0)
        var t = t0
        var waits: [Duration] = []
        var notices = 0
        for _ in 0..<7 {
            for a in m.ended(.failed(reason: "connection refused"), now: t) {
                switch a {
                case .wait(let d):
                    waits.append(d)
                    t = t + d
                case .notice: notices += 1
                case .exit: Issue.record("gave up too early")
                case .connect: break
                }
            }
        }
        #expect(notices == 1)
        #expect(
            waits == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                .milliseconds(1600), .seconds(2), .seconds(2),
            ])
    }

    @Test func givesUpWithExit1AfterTheRetryWindow() {
        var m = machine(retry: .seconds(1))
        _ = m.start(now: t0)
        var t = t0
        var exit: Action?
        for _ in 0..<20 where exit == nil {
            for a in m.ended(.failed(reason: "connection refused"), now: t) {
                if case .wait(let d) = a { t = t + d }
                if case .exit = a { exit = a }
            }
        }
        guard case .exit(let code, let message) = exit else {
            Issue.record("never gave up")
            return
        }
        #expect(code == 1)
        #expect(message.contains("connection refused") && message.contains("1s"))
        #expect(t0.duration(to: t) >= .seconds(1) && t0.duration(to: t) < .milliseconds(1100), "the last wait ends at the window")
    }

    @Test func zeroRetryGivesUpAtTheFirstFailure() {
        var m = machine(retry: .zero)
        _ = m.start(now: t0)
        let a = m.ended(.failed(reason: "connection refused"), now: t0)
        #expect(a.count == 1)
        if case .exit(let code, _) = a.first { #expect(code == 1) } else { Issue.record("\(a)") }
    }

    @Test func theRetryWindowStartsAgainAfterEachLoss() {
        var m = machine(retry: .seconds(1))
        _ = m.start(now: t0)
        _ = m.hello(hello(["app": "e1"], ["app": 0]), now: t0)
        let later = t0 + .seconds(60)
        _ = m.ended(.closed(code: nil, reason: "reset"), now: later)
        let a = m.ended(.failed(reason: "connection refused"), now: later + .milliseconds(10))
        #expect(!a.contains { if case .exit = $0 { true } else { false } })
        #expect(!a.contains { if case .notice = $0 { true } else { false } }, "the loss was already reported")
        let again = m.hello(hello(["app": "e1"], ["app": 0]), now: t0)
        #expect(again == [.notice(.reconnected)])
    }

    @Test func aBadQueryExits2WithTheServersMessageNamingTheParameter() {
        var m = machine()
        _ = m.start(now: t0)
        m.serverError(ServerError(code: "bad_query", param: "A", message: "A must be a whole number from 0 to 1000"))
        let a = m.ended(.closed(code: 1008, reason: "bad query"), now: t0)
        #expect(a == [.exit(code: 2, message: "tailcast tail: h:1: A: A must be a whole number from 0 to 1000")])
    }

    @Test func aRefusedTokenExits2() {
        var m = machine()
        _ = m.start(now: t0)
        m.serverError(ServerError(code: "unauthorized", param: "token", message: "this server needs a token"))
        let a = m.ended(.closed(code: 1008, reason: "unauthorized"), now: t0)
        #expect(a == [.exit(code: 2, message: "tailcast tail: h:1: unauthorized: token: this server needs a token")])
    }

    @Test func close1008WithoutAnErrorEnvelopeStillExits2() {
        var m = machine()
        _ = m.start(now: t0)
        let a = m.ended(.closed(code: 1008, reason: "policy"), now: t0)
        if case .exit(let code, let message) = a.first {
            #expect(code == 2 && message.contains("policy"))
        } else {
            Issue.record("no exit")
        }
    }

    @Test func aRefusedSinceOnAReconnectIsReportedAndFollowedFromNow() {
        var m = machine()
        _ = m.start(now: t0)
        _ = m.hello(hello(["app": "e1"], ["app": 5]), now: t0)
        _ = m.ended(.closed(code: 1001, reason: ""), now: t0)
        m.serverError(ServerError(code: "bad_query", param: "since", message: "since names \"app\", which is not a selected source"))
        let a = m.ended(.closed(code: 1008, reason: "bad query"), now: t0)
        #expect(a == [.notice(.resumeRefused(message: "since names \"app\", which is not a selected source")), .connect(since: [])])
    }

    @Test func aBusyServerIsRetriedNotFatal() {
        var m = machine()
        _ = m.start(now: t0)
        m.serverError(ServerError(code: "too_many_connections", param: nil, message: "try again later"))
        let a = m.ended(.closed(code: 1013, reason: "too many connections"), now: t0)
        #expect(a.contains(.wait(.milliseconds(100))))
        #expect(a.last == .connect(since: []))
    }

    @Test func duplicatesAcrossAReconnectAreLeftOut() {
        var m = machine()
        _ = m.start(now: t0)
        _ = m.hello(hello(["app": "e1"], ["app": 0]), now: t0)
        _ = m.admit([line("app", 1), line("app", 2)])
        _ = m.ended(.closed(code: nil, reason: ""), now: t0)
        _ = m.hello(hello(["app": "e1"], ["app": 4]), now: t0)
        let kept = m.admit([line("app", 2), line("app", 3), line("app", 4)])
        #expect(kept.map(\.seq) == [3, 4])
    }

    @Test func aServerRestartedWithoutStateStartsTheSourceAgain() {
        var m = machine()
        _ = m.start(now: t0)
        _ = m.hello(hello(["app": "e1"], ["app": 0]), now: t0)
        _ = m.admit([line("app", 1), line("app", 2)])
        let a = m.ended(.closed(code: 1001, reason: ""), now: t0)
        #expect(a.last == .connect(since: [ResumePoint(source: "app", seq: 2, epoch: "e1")]))
        _ = m.hello(hello(["app": "e2"], ["app": 1]), now: t0)
        let kept = m.admit([line("app", 1)])
        #expect(kept.map(\.seq) == [1])
    }
}
