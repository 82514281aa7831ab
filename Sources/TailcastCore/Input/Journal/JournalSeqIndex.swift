/// A bounded, sparse map from a journal source's `seq` to where that entry is in the journal
/// (its cursor and realtime), so that entries that left the ring can be found again and
/// numbered exactly as they were.
///
/// Promises:
/// - Samples rise strictly in `seq`; the first entry of a numbering run is always sampled, then
///   every `interval`-th entry after the last sample.
/// - It never holds more than `capacity` samples: when full, every other sample is dropped
///   (the oldest is always kept) and `interval` doubles, so it keeps covering the whole run with
///   samples at most `interval` entries apart. Memory is bounded by `capacity` times the
///   longest cursor (cursors longer than ``maxCursorBytes`` are not sampled).
/// - A sample is only valid for one numbering run: ``reset()`` (the reader reopened the journal
///   and may have skipped entries) forgets every sample.
/// Pure value: the journal thread owns one inside ``JournalReadBack``'s lock.
public struct JournalSeqIndex: Sendable, Equatable {
    /// Where entry `seq` was.
    public struct Sample: Sendable, Equatable {
        public var seq: UInt64
        public var cursor: String
        public var realtime: UInt64

        public init(seq: UInt64, cursor: String, realtime: UInt64) {
            self.seq = seq
            self.cursor = cursor
            self.realtime = realtime
        }
    }

    public static let maxCursorBytes = 512

    public let capacity: Int
    /// Entries between two samples (doubles at each thinning).
    public private(set) var interval: UInt64
    public private(set) var samples: [Sample] = []
    /// How many times the index was thinned.
    public private(set) var thinnings = 0

    /// - Parameters:
    ///   - interval: entries between two samples at first (at least 1).
    ///   - capacity: the most samples held (at least 2).
    public init(interval: UInt64 = 64, capacity: Int = 2048) {
        self.interval = max(1, interval)
        self.capacity = max(2, capacity)
        samples.reserveCapacity(self.capacity)
    }

    /// Whether entry `seq` is to be sampled (ask before rendering its cursor).
    public func wants(_ seq: UInt64) -> Bool {
        guard let last = samples.last else { return true }
        return seq >= last.seq &+ interval
    }

    /// The first `seq` that ``wants(_:)`` accepts.
    public var nextWanted: UInt64 { samples.last.map { $0.seq &+ interval } ?? 0 }

    /// Records entry `seq`; ignored unless ``wants(_:)`` says so.
    public mutating func record(_ sample: Sample) {
        guard wants(sample.seq), sample.cursor.utf8.count <= Self.maxCursorBytes else { return }
        if samples.count >= capacity { thin() }
        samples.append(sample)
    }

    /// Forgets every sample: the numbering is no longer continuous with the journal.
    public mutating func reset() {
        samples.removeAll(keepingCapacity: true)
    }

    /// Drops every other sample (keeping the oldest) and doubles the interval.
    private mutating func thin() {
        var kept: [Sample] = []
        kept.reserveCapacity(capacity)
        for (i, s) in samples.enumerated() where i % 2 == 0 { kept.append(s) }
        samples = kept
        interval = interval &* 2
        thinnings += 1
    }

    /// Bytes the samples hold, roughly (for logs and tests).
    public var approximateBytes: Int {
        samples.reduce(0) { $0 + MemoryLayout<Sample>.stride + $1.cursor.utf8.count }
    }
}

extension Array {
    /// The index of the first element for which `isAbove` is true, in an array where it is
    /// false then true (binary search).
    func partitionPoint(_ isAbove: (Element) -> Bool) -> Int {
        var lo = 0
        var hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if isAbove(self[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
