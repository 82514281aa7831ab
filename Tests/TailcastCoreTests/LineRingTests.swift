import Testing

@testable import TailcastCore

private func block(_ texts: [String], from seq: UInt64) -> LineBlock {
    var b = LineBlockBuilder(source: "s", nextSeq: seq, maxLineBytes: 4096)
    for t in texts { Array(t.utf8).withUnsafeBytes { b.append($0, truncated: false) } }
    return b.finish()!
}

private func texts(_ slices: [LineSlice]) -> [String] {
    slices.flatMap { s in (s.start..<s.end).map { s.block.string(at: $0) } }
}

@Suite struct LineRingTests {
    @Test func numbersFromOneAndReadsInOrder() {
        let ring = LineRing(maxLines: 100, maxBytes: 1 << 20)
        ring.append(block(["a", "b"], from: 1))
        ring.append(block(["c"], from: 3))
        let r = ring.read(from: 1, eventID: 0, maxLines: 10)
        #expect(r.gap == nil)
        #expect(texts(r.slices) == ["a", "b", "c"])
        #expect(r.nextSeq == 4)
        #expect(ring.bounds == (1, 4))
    }

    @Test func evictsOldestToLineBoundAndReportsExactGap() {
        let ring = LineRing(maxLines: 5, maxBytes: 1 << 20)
        var seq: UInt64 = 1
        for i in 0..<4 {
            let lines = (0..<3).map { "l\(i)-\($0)" }
            ring.append(block(lines, from: seq))
            seq += 3
        }
        #expect(ring.usage.lines == 5)
        #expect(ring.bounds == (8, 13))
        let r = ring.read(from: 2, eventID: 0, maxLines: 100)
        #expect(r.gap == 2...7)
        #expect(texts(r.slices) == ["l2-1", "l2-2", "l3-0", "l3-1", "l3-2"])
    }

    @Test func staysWithinByteBound() {
        let ring = LineRing(maxLines: 1_000_000, maxBytes: 4096)
        let big = String(repeating: "x", count: 300)
        for i in 0..<200 { ring.append(block([big], from: UInt64(i + 1))) }
        #expect(ring.usage.bytes <= 4096)
        #expect(ring.usage.lines > 0)
        #expect(ring.bounds.next == 201)
    }

    @Test func readStopsAtMaxLines() {
        let ring = LineRing(maxLines: 100, maxBytes: 1 << 20)
        ring.append(block((0..<10).map { "\($0)" }, from: 1))
        let r = ring.read(from: 3, eventID: 0, maxLines: 4)
        #expect(texts(r.slices) == ["2", "3", "4", "5"])
        #expect(r.nextSeq == 7)
    }

    @Test func eventsArriveBetweenTheLinesAroundThem() {
        let ring = LineRing(maxLines: 100, maxBytes: 1 << 20)
        ring.append(block(["old1", "old2"], from: 1))
        ring.record(SourceEvent(.rotated, "x"))
        ring.append(block(["new1"], from: 3))
        let first = ring.read(from: 1, eventID: 0, maxLines: 100)
        #expect(texts(first.slices) == ["old1", "old2"])
        #expect(first.events.isEmpty)
        let second = ring.read(from: first.nextSeq, eventID: first.nextEventID, maxLines: 100)
        #expect(second.events.map(\.kind) == [.rotated])
        #expect(texts(second.slices) == ["new1"])
    }

    @Test func ringsRegisteredDoorbellOncePerAppend() async {
        let ring = LineRing(maxLines: 100, maxBytes: 1 << 20)
        let bell = Doorbell()
        ring.register(bell)
        ring.append(block(["a"], from: 1))
        await bell.wait()  // returns because the append rang it
        ring.unregister(bell)
    }

    @Test func manySmallAppendsAreMergedIntoFewBlocks() {
        let ring = LineRing(maxLines: 10_000, maxBytes: 1 << 24)
        for i in 0..<1000 { ring.append(block(["line \(i)"], from: UInt64(i + 1))) }
        let r = ring.read(from: 1, eventID: 0, maxLines: 10_000)
        #expect(texts(r.slices).count == 1000)
        #expect(r.slices.count < 10)
    }

    @Test func anEvictedBlockIsReleasedAtOnce() {
        let ring = LineRing(maxLines: 2, maxBytes: 1 << 20)
        weak var first: LineBlock?
        do {
            let b = block(["a", "b"], from: 1)
            first = b
            ring.append(b)
        }
        #expect(first != nil)
        ring.append(block(["c", "d", "e"], from: 3))  // too big to merge; evicts "a", "b"
        #expect(ring.bounds.first == 4)
        #expect(first == nil, "the ring still holds a block whose lines are all evicted")
    }

    @Test func countsTheMemoryOfWholeBlocksAndStaysWithinIt() {
        let maxBytes = 64 << 10
        let ring = LineRing(maxLines: 1_000_000, maxBytes: maxBytes)
        var seq: UInt64 = 1
        for i in 0..<2_000 {
            let lines = (0..<(1 + i % 7)).map { "line \($0) " + String(repeating: "y", count: 90) }
            let b = block(lines, from: seq)
            ring.append(b)
            seq += UInt64(lines.count)
            #expect(ring.usage.bytes <= maxBytes)
        }
        let held = ring.lines(from: 1, to: seq)
        var blocks: [ObjectIdentifier: Int] = [:]
        for s in held { blocks[ObjectIdentifier(s.block)] = s.block.memoryBytes }
        // What the ring reports is what its blocks really take, capacities included.
        #expect(ring.usage.bytes == blocks.values.reduce(0, +))
        #expect(ring.usage.bytes > maxBytes / 2)
    }

    @Test func aTrickleIsMergedLikeABinaryCounter() {
        let ring = LineRing(maxLines: 100_000, maxBytes: 1 << 26)
        for i in 0..<5_000 { ring.append(block(["l\(i)"], from: UInt64(i + 1))) }
        // 5 000 lines in blocks of at most 256, plus a binary counter's tail.
        #expect(ring.blockCount <= 5_000 / LineRing.mergeLines + 1 + 9)
        let r = ring.read(from: 1, eventID: 0, maxLines: 10_000)
        #expect(texts(r.slices) == (0..<5_000).map { "l\($0)" })
    }
}
