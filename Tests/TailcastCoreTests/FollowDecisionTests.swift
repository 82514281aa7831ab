import Testing

@testable import TailcastCore

@Suite struct FollowDecisionTests {
    let a = FileIdentity(device: 1, inode: 10)
    let b = FileIdentity(device: 1, inode: 11)
    let wait: Int64 = 1_000_000_000

    @Test func firstLookStartsAtTheEnd() {
        #expect(
            FollowDecision.decide(open: nil, atPath: a, goneForNanos: nil, rotateWaitNanos: wait, missingReported: false, firstLook: true)
                == .open(atEnd: true, event: nil))
    }

    @Test func fileThatAppearsLaterIsReadFromItsStart() {
        #expect(
            FollowDecision.decide(open: nil, atPath: a, goneForNanos: nil, rotateWaitNanos: wait, missingReported: false, firstLook: false)
                == .open(atEnd: false, event: nil))
    }

    @Test func sameIdentityKeepsFollowing() {
        #expect(
            FollowDecision.decide(open: a, atPath: a, goneForNanos: nil, rotateWaitNanos: wait, missingReported: false, firstLook: false)
                == .keep)
    }

    @Test func renameAndCreateIsARotation() {
        #expect(
            FollowDecision.decide(open: a, atPath: b, goneForNanos: nil, rotateWaitNanos: wait, missingReported: false, firstLook: false)
                == .rotate)
    }

    @Test func deleteThenRecreateWithinRotateWaitIsARotation() {
        #expect(
            FollowDecision.decide(
                open: a, atPath: nil, goneForNanos: wait / 2, rotateWaitNanos: wait, missingReported: false, firstLook: false)
                == .waitForReturn)
        #expect(
            FollowDecision.decide(
                open: a, atPath: b, goneForNanos: wait / 2, rotateWaitNanos: wait, missingReported: false, firstLook: false) == .rotate)
    }

    @Test func pathGonePastRotateWaitIsMissingThenReopened() {
        #expect(
            FollowDecision.decide(open: a, atPath: nil, goneForNanos: wait, rotateWaitNanos: wait, missingReported: false, firstLook: false)
                == .missing)
        #expect(
            FollowDecision.decide(open: nil, atPath: nil, goneForNanos: nil, rotateWaitNanos: wait, missingReported: true, firstLook: false)
                == .wait)
        #expect(
            FollowDecision.decide(open: nil, atPath: b, goneForNanos: nil, rotateWaitNanos: wait, missingReported: true, firstLook: false)
                == .open(atEnd: false, event: .reopened))
    }

    @Test func nothingThereWaits() {
        #expect(
            FollowDecision.decide(open: nil, atPath: nil, goneForNanos: nil, rotateWaitNanos: wait, missingReported: false, firstLook: true)
                == .wait)
    }
}
