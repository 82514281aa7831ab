import CoreMetrics
import Foundation
import NIOCore
import Testing

@testable import TailcastCore

private func makeSource(_ lines: [String], maxLines: Int = 1000) -> SourceHandle {
    let metrics = PipelineMetrics(factory: NOOPMetricsHandler.instance)
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
