import Testing

@testable import TailcastCore

private func sample(_ seq: UInt64, realtime: UInt64 = 0) -> JournalSeqIndex.Sample {
    JournalSeqIndex.Sample(seq: seq, cursor: "c\(seq)", realtime: realtime == 0 ? seq * 10 : realtime)
}

@Suite struct JournalSeqIndexTests {
    @Test func samplesTheFirstEntryThenEveryInterval() {
        var index = JournalSeqIndex(interval: 10, capacity: 100)
        for seq in UInt64(5)...60 where index.wants(seq) { index.record(sample(seq)) }
        #expect(index.samples.map(\.seq) == [5, 15, 25, 35, 45, 55])
        #expect(index.nextWanted == 65)
        // A sample the index does not want is ignored.
        index.record(sample(60))
        #expect(index.samples.last?.seq == 55)
    }

    @Test func thinsWhenFullKeepingTheOldestAndDoublingTheInterval() {
        var index = JournalSeqIndex(interval: 1, capacity: 8)
        for seq in UInt64(1)...1000 where index.wants(seq) { index.record(sample(seq)) }
        #expect(index.samples.count <= 8)
        #expect(index.samples.first?.seq == 1)
        #expect(index.thinnings > 0)
        // Samples stay at most `interval` apart and cover the run up to its end.
        let seqs = index.samples.map(\.seq)
        for (a, b) in zip(seqs, seqs.dropFirst()) { #expect(b - a <= index.interval) }
        #expect(1000 - seqs.last! < index.interval)
        #expect(index.approximateBytes < 8 * 200)
    }

    @Test func resetForgetsEverySample() {
        var index = JournalSeqIndex(interval: 4, capacity: 8)
        index.record(sample(1))
        index.reset()
        #expect(index.samples.isEmpty)
        #expect(index.wants(2))
    }

    @Test func overlongCursorsAreNotSampled() {
        var index = JournalSeqIndex(interval: 1, capacity: 8)
        index.record(JournalSeqIndex.Sample(seq: 1, cursor: String(repeating: "x", count: 600), realtime: 1))
        #expect(index.samples.isEmpty)
    }
}

@Suite struct JournalReadBackPlanTests {
    let samples = [sample(1), sample(65), sample(129), sample(193)]

    /// A journal holding entries `held` (by seq): standing works on held samples; stepping
    /// back stops at the first held entry.
    func locate(_ from: UInt64, held: ClosedRange<UInt64>) -> JournalReadBackPlan.Start? {
        var at: UInt64 = 0
        return JournalReadBackPlan.locate(
            from: from, samples: samples,
            stand: { s in
                guard held.contains(s.seq) else { return false }
                at = s.seq
                return true
            },
            stepBack: { limit in
                let n = min(limit, at - held.lowerBound)
                at -= n
                return n
            })
    }

    @Test func startsAtTheNewestSampleAtOrBelow() {
        #expect(locate(100, held: 1...500) == .init(seq: 65, gone: nil))
        #expect(locate(65, held: 1...500) == .init(seq: 65, gone: nil))
        #expect(locate(300, held: 1...500) == .init(seq: 193, gone: nil))
    }

    @Test func vacuumedStartIsAnExactGone() {
        // Entries 1…99 were vacuumed: sample 65 is gone, 129 is held, 100…128 are found by
        // stepping back from it.
        #expect(locate(10, held: 100...500) == .init(seq: 100, gone: 10...99))
        // The wanted entry itself is held: no gone.
        #expect(locate(110, held: 100...500) == .init(seq: 110, gone: nil))
    }

    @Test func beforeTheIndexIsGone() {
        let later = [sample(50), sample(114)]
        let start = JournalReadBackPlan.locate(
            from: 10, samples: later, stand: { _ in true },
            stepBack: { _ in
                Issue.record("no step back before the oldest sample")
                return 0
            })
        #expect(start == .init(seq: 50, gone: 10...49))
    }

    @Test func nothingHeldIsNil() {
        #expect(locate(10, held: 1000...2000) == nil)
        #expect(JournalReadBackPlan.locate(from: 5, samples: [], stand: { _ in true }, stepBack: { _ in 0 }) == nil)
    }

    @Test func realtimeCandidatesTryTheNewestBeforeTheTimeFirst() {
        let list = [sample(1, realtime: 100), sample(65, realtime: 200), sample(129, realtime: 300)]
        #expect(JournalReadBackPlan.realtimeCandidates(250, samples: list).map(\.seq) == [65, 1, 129])
        #expect(JournalReadBackPlan.realtimeCandidates(50, samples: list).map(\.seq) == [1, 65, 129])
    }
}
