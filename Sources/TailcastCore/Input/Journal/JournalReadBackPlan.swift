/// Where a read-back starts: the pure decision over the index's samples, with the journal
/// behind two small questions (can the read position stand on this sample's entry; how many
/// entries can it step back from there).
public enum JournalReadBackPlan {
    /// The entry the read position stands on (`seq`) and the requested entries known to be gone
    /// from the journal before it.
    public struct Start: Equatable, Sendable {
        public var seq: UInt64
        public var gone: ClosedRange<UInt64>?

        public init(seq: UInt64, gone: ClosedRange<UInt64>?) {
            self.seq = seq
            self.gone = gone
        }
    }

    /// Finds where to read entry `from` from.
    ///
    /// - Parameters:
    ///   - samples: the index's samples, rising in `seq`.
    ///   - stand: places the read position on a sample's entry; `false` when the entry is gone.
    ///   - stepBack: steps back at most `limit` entries from where the position stands; returns
    ///     how many it stepped (fewer when the journal's first entry was reached).
    /// - Returns: the start (at or before `from`, or after it when the entries from `from` on
    ///   are gone: they are in `gone`), or `nil` when no sampled entry is in the journal any more.
    ///
    /// The newest sample at or below `from` is the best start; when it is gone (journald vacuums
    /// its oldest files first), the oldest sample above `from` still held is used, and the
    /// entries just before it that are still held (at most back to the previous sample, which
    /// is gone) are found by stepping back, so the `gone` range is exact.
    public static func locate(
        from: UInt64, samples: [JournalSeqIndex.Sample],
        stand: (JournalSeqIndex.Sample) -> Bool,
        stepBack: (_ limit: UInt64) -> UInt64
    ) -> Start? {
        let split = samples.partitionPoint { $0.seq > from }
        for s in samples[..<split].reversed() where stand(s) {
            return Start(seq: s.seq, gone: nil)
        }
        for k in split..<samples.count where stand(samples[k]) {
            let s = samples[k]
            var start = s.seq
            if k > 0 {
                // Entries after the previous (gone) sample may still be held.
                let floor = max(from, samples[k - 1].seq + 1)
                if s.seq > floor { start = s.seq - stepBack(s.seq - floor) }
            }
            return Start(seq: start, gone: start > from ? from...(start - 1) : nil)
        }
        return nil
    }

    /// The samples to try, newest first, for the first entry at or after `realtime`: those
    /// before it (stepping forward from one finds the entry), then the rest oldest first.
    public static func realtimeCandidates(_ realtime: UInt64, samples: [JournalSeqIndex.Sample]) -> [JournalSeqIndex.Sample] {
        samples.filter { $0.realtime < realtime }.reversed() + samples.filter { $0.realtime >= realtime }
    }
}
