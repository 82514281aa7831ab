import Foundation
import Logging
import Synchronization

/// Reads another host's lines that left a viewer's ring back from the bus's stream, for a
/// reader whose `since` starts before the ring: the stream keeps every batch an agent
/// published (for `max_age` / `max_bytes`), under the agent's own `seq` and epoch.
///
/// Promises:
/// - Finds the first batch holding the wanted `seq` (or, for `from=TIME`, the first batch the
///   stream stored at or after TIME) with a binary search of direct gets over the stream's
///   sequence (O(log n) round trips), then reads the subject's batches in order.
/// - Hands its reader blocks trimmed to the asked range and a `gone` range for each run the
///   stream no longer holds (retention, or lines the agent lost): the reader's `dropped`
///   `evicted` is exact.
/// - Runs on threads of its own, at most ``maxRunning`` at once per source; a reader that goes
///   away cancels its job.
final class StreamReadBack: ReadBackService {
    static let maxRunning = 4

    private let bus: BusConnection
    private let subject: String
    private let epoch: String
    private let logger: Logger
    /// Read-backs waiting for a thread, and the threads running (at most ``maxRunning``): a
    /// crowd of clients resuming at once waits in this queue, not in a thread each.
    private let queue = Mutex<(jobs: [(JournalReadBackChannel, Start, UInt64)], running: Int)>(([], 0))

    init(bus: BusConnection, subject: String, epoch: String, logger: Logger) {
        self.bus = bus
        self.subject = subject
        self.epoch = epoch
        self.logger = logger
    }

    /// The stream is searched by the time it stored each batch (a line is stored after it was
    /// read, so every line at or after TIME is in a batch stored at or after TIME).
    var readsByTime: Bool { true }

    func readBack(fromRealtime: UInt64, until: UInt64, wake: @escaping @Sendable () -> Void) -> JournalReadBackJob {
        launch(.time(Int64(clamping: fromRealtime)), until: until, wake: wake)
    }

    func readBack(from: UInt64, until: UInt64, wake: @escaping @Sendable () -> Void) -> JournalReadBackJob {
        launch(.seq(from), until: until, wake: wake)
    }

    /// Where a read-back starts: after a `seq` (exact: what is not found is `gone`), or at the
    /// first line at or after a time (µs; nothing before the first line found is reported).
    enum Start {
        case seq(UInt64)
        case time(Int64)
    }

    private func launch(_ start: Start, until: UInt64, wake: @escaping @Sendable () -> Void) -> JournalReadBackJob {
        let channel = JournalReadBackChannel(wake: wake)
        let newThread = queue.withLock { q -> Bool in
            q.jobs.append((channel, start, until))
            guard q.running < Self.maxRunning else { return false }
            q.running += 1
            return true
        }
        if newThread {
            let t = Thread { [self] in work() }
            t.name = "tailcast-readback"
            t.start()
        }
        return JournalReadBackJob(channel)
    }

    /// A read-back thread: runs queued read-backs until none is left.
    private func work() {
        while let (channel, start, until) = queue.withLock({ q -> (JournalReadBackChannel, Start, UInt64)? in
            guard !q.jobs.isEmpty else {
                q.running -= 1
                return nil
            }
            return q.jobs.removeFirst()
        }) {
            if channel.isCancelled { channel.finish() } else { run(channel, start, until: until) }
        }
    }

    private func run(_ channel: JournalReadBackChannel, _ start: Start, until: UInt64) {
        // `from` is the next line to hand over; nil until a time start found its first line.
        var from: UInt64?
        var notBefore = Int64.min
        switch start {
        case .seq(let s): from = s
        case .time(let t): notBefore = t
        }
        do {
            guard from.map({ $0 < until }) ?? true, let last = try bus.lastMessage(subject: subject) else {
                if let f = from, f < until { return channel.finish(gone: f...(until - 1)) }
                return channel.finish()
            }
            var cursor: UInt64
            if let f = from {
                cursor = try Self.firstStreamSeq(bus: bus, subject: subject, epoch: epoch, reaching: f, upTo: last.streamSeq)
            } else {
                cursor = try firstStreamSeq(storedAtOrAfter: notBefore, upTo: last.streamSeq)
            }
            while from.map({ $0 < until }) ?? true, !channel.isCancelled {
                guard let m = try bus.message(subject: subject, atOrAfter: cursor) else { break }
                cursor = m.streamSeq + 1
                let h = m.headers
                guard h[BusSubjects.Header.epoch] == epoch,
                    let kind = h[BusSubjects.Header.kind].flatMap(BusSubjects.Kind.init(rawValue:)),
                    let first = h[BusSubjects.Header.first].flatMap(UInt64.init),
                    let next = h[BusSubjects.Header.next].flatMap(UInt64.init), kind != .event
                else { continue }
                if first >= until { break }
                guard let f = from else {
                    // A time start: the first line at or after the time, in a batch of lines.
                    guard kind == .lines, let whole = BusBatch.decode(m.data, firstSeq: first),
                        let i = whole.records.firstIndex(where: { $0.ts >= notBefore })
                    else { continue }
                    from = first + UInt64(i)
                    cursor = m.streamSeq  // read this batch again, from `from`
                    continue
                }
                guard next > f else { continue }
                var at = f
                if first > at {
                    // Not in the stream (retention, or the agent lost them).
                    let end = min(first, until)
                    guard channel.put(.gone(at...(end - 1))) else { return }
                    at = end
                    from = at
                    if at >= until { break }
                }
                if kind == .dropped {
                    let end = min(next, until)
                    guard channel.put(.gone(at...(end - 1))) else { return }
                    from = end
                    continue
                }
                guard var block = BusBatch.decode(m.data, firstSeq: first, skipping: Int(at - first)) else { continue }
                if block.endSeq > until {
                    let keep = Int(until - block.firstSeq)
                    guard let cut = BusBatch.decode(BusBatch.encode(block, 0, keep), firstSeq: block.firstSeq) else { break }
                    block = cut
                }
                guard channel.put(.lines(block)) else { return }
                from = block.endSeq
            }
        } catch {
            logger.warning(
                "cannot read lines back from the stream", metadata: ["subject": "\(subject)", "error": "\(error)"])
        }
        if let f = from, f < until { return channel.finish(gone: f...(until - 1)) }
        channel.finish()
    }

    /// The smallest stream sequence whose next message on the subject is of this epoch and was
    /// stored at or after `time` (µs), by the stream's own clock (`Nats-Time-Stamp`).
    private func firstStreamSeq(storedAtOrAfter time: Int64, upTo last: UInt64) throws(BusError) -> UInt64 {
        try Self.firstStreamSeq(bus: bus, subject: subject, upTo: last) { m in
            let stored = m.headers["Nats-Time-Stamp"].flatMap { StartTime.parse($0) }?.microseconds ?? .min
            return m.headers[BusSubjects.Header.epoch] == epoch && stored >= time
        }
    }

    /// The smallest stream sequence whose next message on `subject` is of `epoch` and reaches
    /// past `seq` (messages of earlier epochs and earlier lines come before it). Past `last`
    /// when there is none.
    static func firstStreamSeq(
        bus: BusConnection, subject: String, epoch: String, reaching seq: UInt64, upTo last: UInt64
    ) throws(BusError) -> UInt64 {
        try firstStreamSeq(bus: bus, subject: subject, upTo: last) { m in
            let next = m.headers[BusSubjects.Header.next].flatMap(UInt64.init) ?? 0
            return m.headers[BusSubjects.Header.epoch] == epoch && next > seq
        }
    }

    /// The smallest stream sequence whose next message on `subject` satisfies `wanted`, which
    /// must be false for a prefix of the subject's messages and true after: a binary search of
    /// direct gets, O(log n) round trips. Past `last` when no message satisfies it.
    private static func firstStreamSeq(
        bus: BusConnection, subject: String, upTo last: UInt64, where wanted: (BusMessage) -> Bool
    ) throws(BusError) -> UInt64 {
        var lo: UInt64 = 1
        var hi = last + 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            guard let m = try bus.message(subject: subject, atOrAfter: mid) else {
                hi = mid
                continue
            }
            if wanted(m) { hi = mid } else { lo = m.streamSeq + 1 }
        }
        return lo
    }
}
