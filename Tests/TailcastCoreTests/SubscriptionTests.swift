import CoreMetrics
import Foundation
import NIOCore
import Synchronization
import Testing

@testable import TailcastCore

private func makeSource(
    _ lines: [String], maxLines: Int = 1000, metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance
) -> SourceHandle {
    let metrics = PipelineMetrics(factory: metricsFactory)
    let ring = LineRing(maxLines: maxLines, maxBytes: 1 << 24)
    let s = SourceHandle(name: "app", kind: .file, path: "/x", epoch: "ep1", ring: ring, metrics: metrics.forSource("app"))
    append(s, lines)
    return s
}

private func append(_ s: SourceHandle, _ lines: [String]) {
    guard !lines.isEmpty else { return }
    var b = LineBlockBuilder(source: s.name, nextSeq: s.ring.bounds.next, maxLineBytes: 4096)
    for l in lines { Array(l.utf8).withUnsafeBytes { b.append($0, truncated: false) } }
    s.publish(b.finish()!, bytesRead: 0)
}

/// Decoded envelopes from one poll.
private func poll(_ sub: inout Subscription, max: Int = 1 << 20) -> [[String: Any]] {
    sub.poll(maxFrameBytes: max).map { buf in
        try! JSONSerialization.jsonObject(with: Data(buf.readableBytesView)) as! [String: Any]
    }
}

private func lines(_ envelopes: [[String: Any]]) -> [(seq: Int, text: String, context: Bool)] {
    envelopes.filter { $0["type"] as? String == "lines" }.flatMap { ($0["lines"] as! [[String: Any]]) }.map {
        (($0["seq"] as! NSNumber).intValue, $0["text"] as! String, ($0["context"] as? Bool) ?? false)
    }
}

private func subscription(_ params: [(String, String)], _ s: SourceHandle) throws -> Subscription {
    try Subscription(
        query: QueryParser().parse(parameters: params), sources: [s], writer: EnvelopeWriter(),
        metrics: PipelineMetrics(factory: NOOPMetricsHandler.instance))
}

@Suite struct SubscriptionTests {
    @Test func startsNowWithoutBacklog() throws {
        let s = makeSource(["a", "b"])
        var sub = try subscription([], s)
        #expect(poll(&sub).isEmpty)
        append(s, ["c"])
        #expect(lines(poll(&sub)).map(\.text) == ["c"])
    }

    @Test func backlogReplaysLastMatchingLines() throws {
        let s = makeSource((1...20).map { $0 % 2 == 0 ? "even \($0)" : "odd \($0)" })
        var sub = try subscription([("q", "even"), ("n", "3")], s)
        #expect(lines(poll(&sub)).map(\.text) == ["even 16", "even 18", "even 20"])
        var all = try subscription([("n", "2")], s)
        #expect(lines(poll(&all)).map(\.seq) == [19, 20])
        var more = try subscription([("n", "500")], s)
        #expect(lines(poll(&more)).count == 20)
    }

    @Test func contextLikeGrep() throws {
        let s = makeSource([])
        var sub = try subscription([("q", "X"), ("B", "2"), ("A", "1")], s)
        append(s, ["1", "2", "3", "X4", "5", "6", "7", "X8", "X9", "10", "11"])
        let got = lines(poll(&sub))
        #expect(got.map(\.text) == ["2", "3", "X4", "5", "6", "7", "X8", "X9", "10"])
        #expect(got.map(\.context) == [true, true, false, true, true, true, false, false, true])
    }

    @Test func resumeHasNoGapAndNoDuplicate() throws {
        let s = makeSource((1...10).map { "l\($0)" })
        var sub = try subscription([("since", "app:7")], s)
        #expect(lines(poll(&sub)).map(\.seq) == [8, 9, 10])
    }

    @Test func resumeBeyondTheRingReportsEvicted() throws {
        let s = makeSource((1...10).map { "l\($0)" }, maxLines: 5)
        var sub = try subscription([("since", "app:2")], s)
        let env = poll(&sub)
        let dropped = env.first!
        #expect(dropped["type"] as? String == "dropped")
        #expect(dropped["reason"] as? String == "evicted")
        #expect((dropped["from_seq"] as! NSNumber).intValue == 3)
        #expect((dropped["to_seq"] as! NSNumber).intValue == 5)
        #expect((dropped["count"] as! NSNumber).intValue == 3)
        #expect(lines(env).map(\.seq) == [6, 7, 8, 9, 10])
    }

    @Test func resumeFromAnEndedEpochReportsRestarted() throws {
        let s = makeSource((1...3).map { "l\($0)" })
        var sub = try subscription([("since", "app:40:oldep")], s)
        let env = poll(&sub)
        #expect(env.first?["reason"] as? String == "restarted")
        #expect(env.first?["epoch"] as? String == "oldep")
        #expect((env.first?["from_seq"] as! NSNumber).intValue == 41)
        #expect(env.first?["to_seq"] is NSNull)
        #expect(lines(env).map(\.seq) == [1, 2, 3])
    }

    @Test func slowReaderGetsExactDroppedRange() throws {
        let s = makeSource([], maxLines: 10)
        var sub = try subscription([], s)
        append(s, (1...25).map { "l\($0)" })
        let env = poll(&sub)
        #expect(env.first?["reason"] as? String == "slow_consumer")
        #expect((env.first?["from_seq"] as! NSNumber).intValue == 1)
        #expect((env.first?["to_seq"] as! NSNumber).intValue == 15)
        #expect(lines(env).map(\.seq) == Array(16...25))
        #expect(sub.lostLinesToSlowness)
    }

    @Test func pausedReaderReadsNothingThenReportsPaused() throws {
        let s = makeSource([], maxLines: 10)
        var sub = try subscription([], s)
        sub.pause()
        append(s, (1...15).map { "l\($0)" })
        #expect(poll(&sub).isEmpty)
        sub.resume()
        let env = poll(&sub)
        #expect(env.first?["reason"] as? String == "paused")
        #expect(lines(env).map(\.seq) == Array(6...15))
    }

    @Test func framesAreBoundedAndContinueWhereTheyStopped() throws {
        let s = makeSource([])
        var sub = try subscription([], s)
        append(s, (1...1000).map { "line number \($0) " + String(repeating: "x", count: 50) })
        var seqs: [Int] = []
        var frames = 0
        while true {
            let bufs = sub.poll(maxFrameBytes: 4096)
            if bufs.isEmpty { break }
            for b in bufs { #expect(b.readableBytes < 4096 + 200) }
            frames += bufs.count
            for b in bufs {
                let env = try JSONSerialization.jsonObject(with: Data(b.readableBytesView)) as! [String: Any]
                seqs += lines([env]).map(\.seq)
            }
        }
        #expect(seqs == Array(1...1000))
        #expect(frames > 10)
    }

    @Test func eventsAreDeliveredInOrderWithLines() throws {
        let s = makeSource([])
        var sub = try subscription([], s)
        append(s, ["old"])
        s.ring.record(SourceEvent(.rotated, "rotated"))
        append(s, ["new"])
        let env = poll(&sub)
        #expect(env.map { $0["type"] as! String } == ["lines", "event", "lines"])
        #expect(env[1]["event"] as? String == "rotated")
    }

    @Test func matchesAreUTF16Offsets() throws {
        let s = makeSource([])
        var sub = try subscription([("q", "err")], s)
        append(s, ["🎉 err"])
        let env = poll(&sub)
        let line = (env[0]["lines"] as! [[String: Any]])[0]
        #expect((line["matches"] as! [[Int]]) == [[3, 6]])
    }
}

/// Counters that count, by label and dimensions (`tailcast_lines_dropped_total reason=evicted`).
private final class CountingMetrics: MetricsFactory {
    final class Count: CounterHandler {
        let value = Atomic<Int64>(0)
        func increment(by amount: Int64) { value.add(amount, ordering: .relaxed) }
        func reset() { value.store(0, ordering: .relaxed) }
    }
    private let counters = Mutex<[String: Count]>([:])

    func dropped(_ reason: String) -> Int64 {
        counters.withLock { $0["tailcast_lines_dropped_total source=app reason=\(reason)"]?.value.load(ordering: .relaxed) ?? 0 }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> CounterHandler {
        let key = ([label] + dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: " ")
        return counters.withLock { c in
            if let existing = c[key] { return existing }
            let count = Count()
            c[key] = count
            return count
        }
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> RecorderHandler {
        NOOPMetricsHandler.instance
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> TimerHandler { NOOPMetricsHandler.instance }
    func destroyCounter(_ handler: CounterHandler) {}
    func destroyRecorder(_ handler: RecorderHandler) {}
    func destroyTimer(_ handler: TimerHandler) {}
}

private func dropped(_ envelopes: [[String: Any]]) -> [(reason: String, from: Int, to: Int, count: Int)] {
    envelopes.filter { $0["type"] as? String == "dropped" }.map {
        (
            $0["reason"] as! String, ($0["from_seq"] as! NSNumber).intValue, ($0["to_seq"] as! NSNumber).intValue,
            ($0["count"] as! NSNumber).intValue
        )
    }
}

/// Holes: lines a remote source lost before they reached the ring.
@Suite struct SubscriptionHoleTests {
    @Test func aFollowerGetsTheLinesThenTheHoleAsEvictedThenTheLinesAfter() throws {
        let counts = CountingMetrics()
        let s = makeSource([], metricsFactory: counts)
        var sub = try subscription([], s)
        append(s, ["a", "b", "c"])
        s.ring.skip(to: 10)
        append(s, ["j", "k"])
        let env = poll(&sub)
        #expect(env.map { $0["type"] as! String } == ["lines", "dropped", "lines"])
        #expect(lines([env[0]]).map(\.seq) == [1, 2, 3])
        #expect(dropped(env).map(\.reason) == ["evicted"])
        #expect(dropped(env).map(\.from) == [4])
        #expect(dropped(env).map(\.to) == [9])
        #expect(dropped(env).map(\.count) == [6])
        #expect(lines([env[2]]).map(\.text) == ["j", "k"])
        #expect(lines([env[2]]).map(\.seq) == [10, 11])
        #expect(!sub.lostLinesToSlowness, "the source lost the lines, not this reader")
        #expect(sub.linesDroppedTotal == 6)
        #expect(counts.dropped("evicted") == 6)
        #expect(counts.dropped("slow_consumer") == 0)
        #expect(poll(&sub).isEmpty)
    }

    @Test func aHoleIsEvictedWhateverTheReaderWasWaitingFor() throws {
        let s = makeSource(["l1", "l2", "l3"])
        s.ring.skip(to: 10)
        append(s, ["l10"])
        // A resumed reader (its own gaps would be `evicted` too): the exact range.
        var resumed = try subscription([("since", "app:1")], s)
        let env = poll(&resumed)
        #expect(lines(env).map(\.seq) == [2, 3, 10])
        #expect(dropped(env).map { "\($0.reason) \($0.from)-\($0.to)" } == ["evicted 4-9"])
        // A paused reader: the hole made while it was paused is `evicted`, not `paused`.
        var paused = try subscription([], s)
        paused.pause()
        s.ring.skip(to: 20)
        append(s, ["l20"])
        #expect(poll(&paused).isEmpty)
        paused.resume()
        let after = poll(&paused)
        #expect(dropped(after).map { "\($0.reason) \($0.from)-\($0.to)" } == ["evicted 11-19"])
        #expect(lines(after).map(\.seq) == [20])
        #expect(!paused.lostLinesToSlowness)
    }

    @Test func contextNeverSpansAHole() throws {
        // After-context stops at the hole.
        let after = makeSource([])
        var a = try subscription([("q", "X"), ("A", "2")], after)
        append(after, ["X1"])
        after.ring.skip(to: 3)
        append(after, ["a3", "a4"])
        let envA = poll(&a)
        #expect(lines(envA).map(\.text) == ["X1"])
        #expect(dropped(envA).map { "\($0.reason) \($0.from)-\($0.to)" } == ["evicted 2-2"])
        // Before-context does not reach back over it (it would come after the `dropped`, out of
        // `seq` order).
        let before = makeSource([])
        var b = try subscription([("q", "X"), ("B", "5")], before)
        append(before, ["c1", "c2", "c3", "c4"])
        before.ring.skip(to: 7)
        append(before, ["X7"])
        let envB = poll(&b)
        #expect(lines(envB).map(\.text) == ["X7"])
        #expect(dropped(envB).map { "\($0.reason) \($0.from)-\($0.to)" } == ["evicted 5-6"])
    }

    @Test func anNReplayOverAHoleGetsTheHeldLinesAndNoDropped() throws {
        func source() -> SourceHandle {
            let s = makeSource((1...5).map { "l\($0)" })
            s.ring.skip(to: 1_000_000)  // a hole far wider than one backward-scan chunk
            append(s, ["l1000000", "l1000001", "l1000002"])
            return s
        }
        let held = [1, 2, 3, 4, 5, 1_000_000, 1_000_001, 1_000_002]
        // Every line (counted back across the hole), and through a filter (the backward scan).
        for (params, n) in [([("n", "5")], 5), ([("q", "l"), ("n", "5")], 5), ([("n", "100")], 8), ([("q", "l"), ("n", "100")], 8)] {
            let s = source()
            var sub = try subscription(params, s)
            let env = poll(&sub)
            #expect(dropped(env).isEmpty, "\(params)")
            #expect(lines(env).map(\.seq) == Array(held.suffix(n)), "\(params)")
            // A hole after the replay is a loss this reader is told of.
            s.ring.skip(to: 1_000_010)
            append(s, ["l1000010"])
            let live = poll(&sub)
            #expect(dropped(live).map { "\($0.reason) \($0.from)-\($0.to)" } == ["evicted 1000003-1000009"], "\(params)")
            #expect(lines(live).map(\.seq) == [1_000_010], "\(params)")
        }
    }
}
