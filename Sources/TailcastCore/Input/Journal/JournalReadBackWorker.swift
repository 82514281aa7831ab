import Logging

/// The body of one read-back thread: opens its own journal handle with the source's matches,
/// finds its start through the index (``JournalReadBackPlan``), and renders entries up to
/// `until` into blocks for its channel, numbering them from the sample it started at.
///
/// Promises: checks each sample it passes (the entry must still be the sampled one); when the
/// journal no longer matches the numbering there, or ends early, the rest is `gone`, never
/// misnumbered past that point. Stops at once when its channel is cancelled.
struct JournalReadBackWorker: Sendable {
    enum Origin: Sendable {
        case seq(UInt64)
        case realtime(UInt64)

        /// The first `seq` asked for (a time start has none: `UInt64.max`).
        var firstSeq: UInt64 {
            if case .seq(let s) = self { return s }
            return .max
        }
    }

    let source: String
    let settings: JournalSourceSettings
    let origin: Origin
    let until: UInt64

    func run(channel: JournalReadBackChannel, samples: [JournalSeqIndex.Sample], logger: Logger) {
        guard !channel.isCancelled else { return channel.finish() }
        let askedFrom = origin.firstSeq
        let handle: JournalHandle
        do {
            handle = try JournalHandle(settings: settings, source: source)
        } catch {
            logger.warning(
                "journal read-back cannot open the journal",
                metadata: ["source": "\(source)", "error": "\(error.description)"])
            return channel.finish(gone: askedFrom < until ? askedFrom...(until - 1) : nil)
        }
        var seq: UInt64
        switch origin {
        case .seq(let from):
            guard from < until else { return channel.finish() }
            let start = JournalReadBackPlan.locate(
                from: from, samples: samples,
                stand: { handle.stand(on: $0.cursor) },
                stepBack: { limit in
                    var n: UInt64 = 0
                    // previous() at the first entry returns false and leaves the position there.
                    while n < limit, (try? handle.previous()) == true { n += 1 }
                    return n
                })
            guard let start else { return channel.finish(gone: from...(until - 1)) }
            if let gone = start.gone, !channel.put(.gone(gone)) { return channel.finish() }
            seq = start.seq
            // Step forward to `from`.
            while seq < from {
                guard (try? handle.next()) == true else { return channel.finish(gone: from...(until - 1)) }
                seq += 1
            }
        case .realtime(let time):
            guard
                let s = JournalReadBackPlan.realtimeCandidates(time, samples: samples)
                    .first(where: { handle.stand(on: $0.cursor) })
            else { return channel.finish() }
            seq = s.seq
            while seq < until, handle.realtime() < time {
                guard (try? handle.next()) == true else { return channel.finish() }
                seq += 1
            }
            guard seq < until else { return channel.finish() }
        }
        let checks = samples.filter { $0.seq > seq && $0.seq < until }
        var check = 0
        var builder = LineBlockBuilder(source: source, nextSeq: seq, maxLineBytes: settings.maxLineBytes)
        var renderer = JournalEntryRenderer()
        while true {
            if check < checks.count, checks[check].seq == seq {
                guard handle.isAt(checks[check].cursor) else {
                    logger.info(
                        "journal read-back: the journal no longer matches the numbering",
                        metadata: ["source": "\(source)", "seq": "\(seq)"])
                    break
                }
                check += 1
            }
            renderer.append(handle, to: &builder)
            seq += 1
            if builder.pendingLines >= JournalReadBack.blockLines || builder.pendingBytes >= JournalReadBack.blockBytes {
                guard let block = builder.finish(), channel.put(.lines(block)) else { return channel.finish() }
            }
            if seq >= until || channel.isCancelled { break }
            guard (try? handle.next()) == true else { break }
        }
        if let block = builder.finish(), !channel.put(.lines(block)) { return channel.finish() }
        channel.finish(gone: seq < until ? seq...(until - 1) : nil)
    }
}
