import Testing

@testable import TailcastCore

/// A block of `texts` numbered from `seq`, every line read at `seconds`.
private func block(_ texts: [String], from seq: UInt64, seconds: Int64 = 0) -> LineBlock {
    var b = LineBlockBuilder(source: "s", nextSeq: seq, maxLineBytes: 4096)
    b.stamp(Timestamp(microseconds: seconds * 1_000_000))
    for t in texts { Array(t.utf8).withUnsafeBytes { b.append($0, truncated: false) } }
    return b.finish()!
}

/// Lines `seqs`, each text its own `seq` ("l7"), as one block.
private func block(_ seqs: ClosedRange<UInt64>, seconds: Int64 = 0) -> LineBlock {
    block(seqs.map { "l\($0)" }, from: seqs.lowerBound, seconds: seconds)
}

private func texts(_ slices: [LineSlice]) -> [String] {
    slices.flatMap { s in (s.start..<s.end).map { s.block.string(at: $0) } }
}

private func seqs(_ slices: [LineSlice]) -> [UInt64] {
    slices.flatMap { s in (s.start..<s.end).map { s.block.firstSeq + UInt64($0) } }
}

/// Holes: lines a remote source lost before they reached the ring.
@Suite struct LineRingHoleTests {
    /// 1…3, the hole 4…9, 10…12.
    private func ringWithAHole(maxLines: Int = 100) -> LineRing {
        let ring = LineRing(maxLines: maxLines, maxBytes: 1 << 20)
        ring.append(block(1...3))
        ring.append(block(10...12))
        return ring
    }

    @Test func anAppendPastNextSeqLeavesAHole() {
        let ring = ringWithAHole()
        #expect(ring.bounds == (1, 13))
        #expect(ring.usage.lines == 6)
        #expect(ring.blockCount == 2, "blocks were merged across the hole")
        let before = ring.read(from: 1, eventID: 0, maxLines: 100)
        #expect(before.gap == nil)
        #expect(seqs(before.slices) == [1, 2, 3])
        #expect(before.nextSeq == 4)
        let hole = ring.read(from: before.nextSeq, eventID: before.nextEventID, maxLines: 100)
        #expect(hole.gap == 4...9)
        #expect(hole.gapLostAtSource)
        #expect(texts(hole.slices) == ["l10", "l11", "l12"])
        #expect(hole.nextSeq == 13)
    }

    @Test func readInsideAHoleReportsTheRestOfItThenTheLinesAfter() {
        let ring = ringWithAHole()
        let r = ring.read(from: 6, eventID: 0, maxLines: 2)
        #expect(r.gap == 6...9)
        #expect(r.gapLostAtSource)
        #expect(seqs(r.slices) == [10, 11])
        #expect(r.nextSeq == 12)
    }

    @Test func readBeforeAHoleStopsAtItsStart() {
        let ring = ringWithAHole()
        let r = ring.read(from: 2, eventID: 0, maxLines: 100)
        #expect(r.gap == nil)
        #expect(!r.gapLostAtSource)
        #expect(seqs(r.slices) == [2, 3])
        #expect(r.nextSeq == 4)
    }

    @Test func skipLeavesAHoleAndWakesReaders() async {
        let ring = LineRing(maxLines: 100, maxBytes: 1 << 20)
        ring.append(block(1...3))
        let bell = Doorbell()
        ring.register(bell)
        ring.skip(to: 10)
        let rang = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await bell.wait()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                return false
            }
            let first = await group.next()!
            group.cancelAll()  // (a cancelled wait returns)
            return first
        }
        #expect(rang, "the skip did not wake the registered reader")
        ring.unregister(bell)
        #expect(ring.bounds == (1, 10))
        ring.skip(to: 7)  // not after nextSeq: nothing
        ring.skip(to: 10)
        #expect(ring.bounds == (1, 10))
        ring.skip(to: 20)  // joins the hole before: one range
        let r = ring.read(from: 4, eventID: 0, maxLines: 100)
        #expect(r.gap == 4...19)
        #expect(r.gapLostAtSource)
        #expect(r.slices.isEmpty)
        #expect(r.nextSeq == 20)
        ring.append(block(20...21))
        #expect(seqs(ring.read(from: 20, eventID: 0, maxLines: 100).slices) == [20, 21])
        #expect(ring.usage.lines == 5)
    }

    @Test func aSkipOverAnEmptyRingIsAHoleNotAnEviction() {
        let ring = LineRing(maxLines: 100, maxBytes: 1 << 20)
        ring.skip(to: 50)
        // No line is held: the oldest is the next one.
        #expect(ring.bounds == (50, 50))
        #expect(ring.usage.lines == 0)
        let r = ring.read(from: 1, eventID: 0, maxLines: 100)
        #expect(r.gap == 1...49)
        #expect(r.gapLostAtSource, "a caught-up reader is told the source lost the lines, not that it was slow")
        ring.append(block(60...61))
        #expect(ring.bounds == (60, 62))
        let after = ring.read(from: 50, eventID: 0, maxLines: 100)
        #expect(after.gap == 50...59)
        #expect(after.gapLostAtSource)
        #expect(seqs(after.slices) == [60, 61])
    }

    @Test func evictionByLinesWalksBlocksAcrossHoles() {
        let ring = LineRing(maxLines: 6, maxBytes: 1 << 20)
        ring.append(block(1...3))
        ring.append(block(10...12))
        ring.append(block(20...22))  // 9 lines: 1…3 leave
        #expect(ring.usage.lines == 6)
        #expect(ring.bounds == (10, 23))
        #expect(seqs(ring.lines(from: 1, to: 100)) == [10, 11, 12, 20, 21, 22])
        ring.append(block(23...24))  // 10 and 11 leave: the first hole goes with them
        #expect(ring.usage.lines == 6)
        #expect(ring.bounds == (12, 25))
        #expect(seqs(ring.lines(from: 1, to: 100)) == [12, 20, 21, 22, 23, 24])
        // Behind the ring: the evicted lines (the first hole among them) are one eviction gap.
        let behind = ring.read(from: 2, eventID: 0, maxLines: 100)
        #expect(behind.gap == 2...11)
        #expect(!behind.gapLostAtSource)
        #expect(seqs(behind.slices) == [12])
        #expect(behind.nextSeq == 13)
        let hole = ring.read(from: 13, eventID: 0, maxLines: 100)
        #expect(hole.gap == 13...19)
        #expect(hole.gapLostAtSource)
        #expect(seqs(hole.slices) == [20, 21, 22, 23, 24])
    }

    @Test func aReaderBehindTheRingGetsTheEvictionGapFirstThenTheHole() {
        let ring = LineRing(maxLines: 4, maxBytes: 1 << 20)
        ring.append(block(1...4))
        ring.append(block(10...13))  // 1…4 leave; the hole 5…9 stays right before the oldest line
        #expect(ring.bounds == (10, 14))
        let evicted = ring.read(from: 2, eventID: 0, maxLines: 100)
        #expect(evicted.gap == 2...4)
        #expect(!evicted.gapLostAtSource)
        #expect(evicted.slices.isEmpty)
        #expect(evicted.nextSeq == 5)
        let hole = ring.read(from: evicted.nextSeq, eventID: 0, maxLines: 100)
        #expect(hole.gap == 5...9)
        #expect(hole.gapLostAtSource)
        #expect(seqs(hole.slices) == [10, 11, 12, 13])
        ring.append(block(14...17))  // a line after the hole leaves: it is part of the eviction now
        let later = ring.read(from: 5, eventID: 0, maxLines: 100)
        #expect(later.gap == 5...13)
        #expect(!later.gapLostAtSource)
        #expect(seqs(later.slices) == [14, 15, 16, 17])
    }

    @Test func evictionByBytesAcrossHolesKeepsCountsExact() {
        let ring = LineRing(maxLines: 1_000_000, maxBytes: 4096)
        let pad = String(repeating: "x", count: 300)
        for k in UInt64(0)..<50 { ring.append(block(["\(k) \(pad)"], from: 10 * k + 1)) }  // 1, 11, 21, … 491
        #expect(ring.usage.bytes <= 4096)
        let held = seqs(ring.lines(from: 1, to: 1000))
        #expect(!held.isEmpty)
        #expect(held.count == ring.usage.lines)
        #expect(held == Array(stride(from: ring.bounds.first, through: 491, by: 10)))
        #expect(ring.bounds.next == 492)
        let first = ring.bounds.first
        #expect(first > 1 && first % 10 == 1)
        // Inside the hole right before the oldest line: lost at the source.
        let inHole = ring.read(from: first - 5, eventID: 0, maxLines: 1)
        #expect(inHole.gap == (first - 5)...(first - 1))
        #expect(inHole.gapLostAtSource)
        #expect(seqs(inHole.slices) == [first])
        // Older: evicted.
        let behind = ring.read(from: 1, eventID: 0, maxLines: 1)
        #expect(behind.gap == 1...(first - 10))
        #expect(!behind.gapLostAtSource)
    }

    @Test func linesAcrossAHoleSkipIt() {
        let ring = ringWithAHole()
        #expect(texts(ring.lines(from: 2, to: 12)) == ["l2", "l3", "l10", "l11"])
        #expect(ring.lines(from: 5, to: 9).isEmpty)
        #expect(seqs(ring.lines(from: 5, to: 11)) == [10])
        #expect(seqs(ring.lines(last: 3, before: 12, notBelow: 0)) == [3, 10, 11])
        #expect(seqs(ring.lines(last: 10, before: 9, notBelow: 2)) == [2, 3])
        #expect(ring.lines(last: 10, before: 9, notBelow: 4).isEmpty)
    }

    @Test func theLastNHeldLinesStartAcrossHoles() {
        let ring = ringWithAHole()
        #expect(ring.firstSeq(ofLast: 0) == 13)
        #expect(ring.firstSeq(ofLast: 2) == 11)
        #expect(ring.firstSeq(ofLast: 3) == 10)
        #expect(ring.firstSeq(ofLast: 4) == 3)
        #expect(ring.firstSeq(ofLast: 100) == 1)
        ring.skip(to: 30)
        #expect(ring.firstSeq(ofLast: 1) == 12)
    }

    @Test func firstSeqAtOrAfterATimeWithHoles() {
        let ring = LineRing(maxLines: 6, maxBytes: 1 << 24)
        ring.append(block(1...3, seconds: 10))
        ring.append(block(10...12, seconds: 20))
        ring.skip(to: 20)
        ring.append(block(20...22, seconds: 30))  // 1…3 leave
        #expect(ring.firstSeq(atOrAfter: 10_000_000) == (10, true))
        #expect(ring.firstSeq(atOrAfter: 15_000_000) == (10, false))
        #expect(ring.firstSeq(atOrAfter: 25_000_000) == (20, false))
        #expect(ring.firstSeq(atOrAfter: 30_000_000) == (20, false))
        #expect(ring.firstSeq(atOrAfter: 31_000_000) == (23, false))
    }

    @Test func eventsKeepTheirPlaceAroundAHole() {
        let ring = LineRing(maxLines: 100, maxBytes: 1 << 20)
        ring.append(block(1...2))
        let caughtUp = ring.read(from: 1, eventID: 0, maxLines: 100)
        ring.record(SourceEvent(.rotated, "before the loss"))
        ring.skip(to: 10)
        ring.record(SourceEvent(.truncated, "after the loss"))
        ring.append(block(10...11))
        // The event from before the hole, then the hole and the event at its end, then lines.
        let first = ring.read(from: caughtUp.nextSeq, eventID: caughtUp.nextEventID, maxLines: 100)
        #expect(first.gap == nil)
        #expect(first.events.map(\.kind) == [.rotated])
        #expect(first.slices.isEmpty)
        #expect(first.nextSeq == 3)
        let second = ring.read(from: first.nextSeq, eventID: first.nextEventID, maxLines: 100)
        #expect(second.gap == 3...9)
        #expect(second.gapLostAtSource)
        #expect(second.events.map(\.kind) == [.truncated])
        #expect(seqs(second.slices) == [10, 11])
    }
}
