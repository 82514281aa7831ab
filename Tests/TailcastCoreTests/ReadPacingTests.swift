import Testing

@testable import TailcastCore

@Suite struct ReadPacingTests {
    @Test func aLineAfterAQuietSpellIsReadAtOnce() {
        var p = ReadPacing(intervalNanos: 1_000_000)
        #expect(p.delay(now: 0) == 0)
        p.polled(at: 10_000_000)
        #expect(p.delay(now: 11_000_000) == 0)
        #expect(p.delay(now: 50_000_000) == 0)
    }

    @Test func linesThatKeepComingWaitForTheRestOfTheInterval() {
        var p = ReadPacing(intervalNanos: 1_000_000)
        p.polled(at: 10_000_000)
        #expect(p.delay(now: 10_000_100) == 999_900)
        #expect(p.delay(now: 10_600_000) == 400_000)
        p.polled(at: 11_000_000)
        #expect(p.delay(now: 11_000_001) == 999_999)
    }
}
