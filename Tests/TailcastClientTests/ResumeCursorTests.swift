import Testing

@testable import TailcastClient

@Suite struct ResumeCursorTests {
    func admit(_ c: inout ResumeCursor, _ source: String, _ seq: UInt64) -> Bool { c.admit(source: source, seq: seq) }

    @Test func withoutLinesSinceIsWhereHelloSaidTheSourceStood() {
        var c = ResumeCursor()
        _ = c.greet(epochs: ["app": "e1"], seqs: ["app": 100])
        #expect(c.since == [ResumePoint(source: "app", seq: 100, epoch: "e1")])
    }

    @Test func replayedLinesBelowHelloAreShownAndMoveTheCursor() {
        var c = ResumeCursor()
        _ = c.greet(epochs: ["app": "e1"], seqs: ["app": 100])
        #expect(admit(&c, "app", 91))
        #expect(admit(&c, "app", 95))
        #expect(c.since == [ResumePoint(source: "app", seq: 95, epoch: "e1")])
    }

    @Test func aLineAtOrBelowTheLastShownIsADuplicate() {
        var c = ResumeCursor()
        _ = c.greet(epochs: ["app": "e1"], seqs: ["app": 0])
        #expect(admit(&c, "app", 5))
        #expect(!admit(&c, "app", 5))
        #expect(!admit(&c, "app", 3))
        #expect(admit(&c, "app", 6))
    }

    @Test func aSecondHelloInTheSameEpochKeepsThePosition() {
        var c = ResumeCursor()
        _ = c.greet(epochs: ["app": "e1"], seqs: ["app": 10])
        #expect(admit(&c, "app", 11))
        let renumbered = c.greet(epochs: ["app": "e1"], seqs: ["app": 50])
        #expect(renumbered.isEmpty)
        #expect(c.since == [ResumePoint(source: "app", seq: 11, epoch: "e1")])
        #expect(admit(&c, "app", 12))
    }

    @Test func aNewEpochStartsTheSourceAgain() {
        var c = ResumeCursor()
        _ = c.greet(epochs: ["app": "e1", "web": "w1"], seqs: ["app": 10, "web": 3])
        #expect(admit(&c, "app", 11))
        let renumbered = c.greet(epochs: ["app": "e2", "web": "w1"], seqs: ["app": 4, "web": 3])
        #expect(renumbered == ["app"])
        #expect(admit(&c, "app", 1), "seq 1 of the new epoch is new")
        #expect(c.since == [ResumePoint(source: "app", seq: 1, epoch: "e2"), ResumePoint(source: "web", seq: 3, epoch: "w1")])
    }

    @Test func aNewEpochWithNothingShownResumesFromItsStart() {
        var c = ResumeCursor()
        _ = c.greet(epochs: ["app": "e1"], seqs: ["app": 10])
        _ = c.greet(epochs: ["app": "e2"], seqs: ["app": 4])
        #expect(c.since == [ResumePoint(source: "app", seq: 0, epoch: "e2")])
    }

    @Test func aSourceFirstSeenOnAReconnectStartsAtHello() {
        var c = ResumeCursor()
        _ = c.greet(epochs: ["app": "e1"], seqs: ["app": 10])
        _ = c.greet(epochs: ["app": "e1", "new": "n1"], seqs: ["app": 20, "new": 7])
        #expect(c.since.last == ResumePoint(source: "new", seq: 7, epoch: "n1"))
    }
}
