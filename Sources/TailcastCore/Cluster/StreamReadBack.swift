import Foundation
import Logging
import Synchronization

/// Reads another host's lines that left a viewer's ring back from the bus's stream, for a
/// reader whose `since` starts before the ring: the stream keeps every batch an agent
/// published (for `max_age` / `max_bytes`), under the agent's own `seq` and epoch.
///
/// Promises:
/// - Finds the first batch holding the wanted `seq` with a binary search of direct gets over
///   the stream's sequence (O(log n) round trips), then reads the subject's batches in order.
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
    private let slots = DispatchSemaphore(value: StreamReadBack.maxRunning)

    init(bus: BusConnection, subject: String, epoch: String, logger: Logger) {
        self.bus = bus
        self.subject = subject
        self.epoch = epoch
        self.logger = logger
    }

    /// The stream is not searched by time: a `from=TIME` before a remote ring starts at the ring.
    var readsByTime: Bool { false }

    func readBack(fromRealtime: UInt64, until: UInt64, wake: @escaping @Sendable () -> Void) -> JournalReadBackJob {
        let channel = JournalReadBackChannel(wake: wake)
        channel.finish()
        return JournalReadBackJob(channel)
    }

    func readBack(from: UInt64, until: UInt64, wake: @escaping @Sendable () -> Void) -> JournalReadBackJob {
        let channel = JournalReadBackChannel(wake: wake)
        let t = Thread { [self] in
            slots.wait()
            defer { slots.signal() }
            guard !channel.isCancelled else { return channel.finish() }
            run(channel, from: from, until: until)
        }
        t.name = "tailcast-readback"
        t.start()
        return JournalReadBackJob(channel)
    }

    private func run(_ channel: JournalReadBackChannel, from start: UInt64, until: UInt64) {
        var from = start
        do {
            guard from < until, let last = try bus.lastMessage(subject: subject) else {
                return channel.finish(gone: start < until ? start...(until - 1) : nil)
            }
            var cursor = try Self.firstStreamSeq(
                bus: bus, subject: subject, epoch: epoch, reaching: from, upTo: last.streamSeq)
            while from < until, !channel.isCancelled {
                guard let m = try bus.message(subject: subject, atOrAfter: cursor) else { break }
                cursor = m.streamSeq + 1
                let h = m.headers
                guard h[BusSubjects.Header.epoch] == epoch else { continue }
                guard let kind = h[BusSubjects.Header.kind].flatMap(BusSubjects.Kind.init(rawValue:)),
                    let first = h[BusSubjects.Header.first].flatMap(UInt64.init),
                    let next = h[BusSubjects.Header.next].flatMap(UInt64.init), next > from, kind != .event
                else { continue }
                if first > from {
                    // Not in the stream (retention, or the agent lost them).
                    let end = min(first, until)
                    guard channel.put(.gone(from...(end - 1))) else { return }
                    from = end
                    if from >= until { break }
                }
                if kind == .dropped {
                    let end = min(next, until)
                    guard channel.put(.gone(from...(end - 1))) else { return }
                    from = end
                    continue
                }
                guard var block = BusBatch.decode(m.data, firstSeq: first, skipping: Int(from - first)) else { continue }
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
        channel.finish(gone: from < until ? from...(until - 1) : nil)
    }

    /// The smallest stream sequence whose next message on `subject` is of `epoch` and reaches
    /// past `seq` (messages of earlier epochs and earlier lines come before it): a binary search
    /// of direct gets, O(log n) round trips. Past `last` when there is none.
    static func firstStreamSeq(
        bus: BusConnection, subject: String, epoch: String, reaching seq: UInt64, upTo last: UInt64
    ) throws(BusError) -> UInt64 {
        var lo: UInt64 = 1
        var hi = last + 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            guard let m = try bus.message(subject: subject, atOrAfter: mid) else {
                hi = mid
                continue
            }
            let h = m.headers
            let next = h[BusSubjects.Header.next].flatMap(UInt64.init) ?? 0
            if h[BusSubjects.Header.epoch] == epoch, next > seq {
                hi = mid
            } else {
                lo = m.streamSeq + 1
            }
        }
        return lo
    }
}
