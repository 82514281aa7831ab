import Testing

@testable import TailcastCore

@Suite struct WakePacingTests {
    @Test func aLoneAppendWakesAtOnce() {
        var p = WakePacing()
        #expect(p.append(now: 1_000_000_000, readers: 100) == .now)
        // Long after: at once again.
        #expect(p.append(now: 2_000_000_000, readers: 100) == .now)
    }

    @Test func appendsThatKeepComingWakeOncePerInterval() {
        var p = WakePacing()
        #expect(p.append(now: 1_000_000_000, readers: 100) == .now)
        // 100 readers: 2 ms.
        #expect(p.append(now: 1_000_100_000, readers: 100) == .at(1_002_000_000))
        #expect(p.append(now: 1_000_200_000, readers: 100) == .pending)
        p.woke(now: 1_002_000_000)
        #expect(p.append(now: 1_002_500_000, readers: 100) == .at(1_004_000_000))
    }

    @Test func theIntervalGrowsWithReadersUpToItsBound() {
        #expect(WakePacing.interval(readers: 1) == 20_000)
        #expect(WakePacing.interval(readers: 100) == 2_000_000)
        #expect(WakePacing.interval(readers: 200) == 8_000_000)
        #expect(WakePacing.interval(readers: 1000) == 40_000_000)
        #expect(WakePacing.interval(readers: 100_000) == 40_000_000)
    }
}

@Suite struct RingWakeTests {
    @Test func aReaderWokenTwiceInARowSeesTheSecondAppendToo() async throws {
        let ring = LineRing(maxLines: 100, maxBytes: 1 << 20)
        let bells = (0..<200).map { _ in Doorbell() }
        for b in bells { ring.register(b) }  // 200 readers: a 4 ms interval
        var builder = LineBlockBuilder(source: "s", nextSeq: 1, maxLineBytes: 100)
        Array("a".utf8).withUnsafeBytes { builder.append($0, truncated: false) }
        ring.append(builder.finish()!)
        await bells[0].wait()
        Array("b".utf8).withUnsafeBytes { builder.append($0, truncated: false) }
        ring.append(builder.finish()!)  // within the interval: deferred, never lost
        let woke = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                await bells[0].wait()
                return true
            }
            group.addTask {
                try await Task.sleep(for: .seconds(5))
                return false
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
        #expect(woke)
        #expect(ring.bounds.next == 3)
    }
}
