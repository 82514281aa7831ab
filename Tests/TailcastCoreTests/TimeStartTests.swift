import CoreMetrics
import Foundation
import NIOCore
import Testing

@testable import TailcastCore

/// Lines with the given read times (seconds), one batch per distinct time.
private func stamped(_ ring: LineRing, _ times: [Int64], text: String = "l") {
    var b = LineBlockBuilder(source: "app", nextSeq: ring.bounds.next, maxLineBytes: 4096)
    for (k, t) in times.enumerated() {
        b.stamp(Timestamp(microseconds: t * 1_000_000))
        Array("\(text)\(ring.bounds.next + UInt64(k))".utf8).withUnsafeBytes { b.append($0, truncated: false) }
    }
    ring.append(b.finish()!)
}

private func sec(_ s: Int64) -> Int64 { s * 1_000_000 }

private func source(maxLines: Int = 1000) -> SourceHandle {
    let metrics = PipelineMetrics(factory: NOOPMetricsHandler.instance)
    return SourceHandle(
        name: "app", kind: .file, path: "/x", epoch: "ep1",
        ring: LineRing(maxLines: maxLines, maxBytes: 1 << 24), metrics: metrics.forSource("app"))
}

private func envelopes(_ params: [(String, String)], _ s: SourceHandle, format: FrameFormat = .webSocket) throws -> [ByteBuffer] {
    var sub = try Subscription(
        query: QueryParser().parse(parameters: params), sources: [s],
        writer: EnvelopeWriter(format: format), metrics: PipelineMetrics(factory: NOOPMetricsHandler.instance))
    return sub.poll(maxFrameBytes: 1 << 20)
}

private func json(_ bufs: [ByteBuffer]) -> [[String: Any]] {
    bufs.map { try! JSONSerialization.jsonObject(with: Data($0.readableBytesView)) as! [String: Any] }
}

private func seqs(_ env: [[String: Any]]) -> [Int] {
    env.filter { $0["type"] as? String == "lines" }.flatMap { $0["lines"] as! [[String: Any]] }.map { ($0["seq"] as! NSNumber).intValue }
}

@Suite struct TimeStartTests {
    @Test func ringFindsTheFirstLineAtOrAfterATime() {
        let ring = LineRing(maxLines: 1000, maxBytes: 1 << 24)
        for t in stride(from: Int64(10), through: 100, by: 10) { stamped(ring, [t, t, t]) }  // seq 1…30, three per time
        #expect(ring.firstSeq(atOrAfter: sec(5)) == (1, false))
        #expect(ring.firstSeq(atOrAfter: sec(10)) == (1, false))
        #expect(ring.firstSeq(atOrAfter: sec(11)) == (4, false))
        #expect(ring.firstSeq(atOrAfter: sec(50)) == (13, false))
        #expect(ring.firstSeq(atOrAfter: sec(100)) == (28, false))
        #expect(ring.firstSeq(atOrAfter: sec(101)) == (31, false))
        #expect(LineRing(maxLines: 10, maxBytes: 1 << 20).firstSeq(atOrAfter: 0) == (1, false))
    }

    @Test func searchCoversManyBlocksAndAPartlyEvictedOne() {
        let ring = LineRing(maxLines: 1000, maxBytes: 1 << 24)
        // Large batches, so that the ring keeps several blocks.
        for t in Int64(1)...8 { stamped(ring, Array(repeating: t, count: 300)) }  // seq 1…2400
        #expect(ring.bounds == (1401, 2401))
        #expect(ring.firstSeq(atOrAfter: sec(6)) == (1501, false))
        #expect(ring.firstSeq(atOrAfter: sec(7)) == (1801, false))
        // Lines at t=5 left, some are held: the start is the oldest held, and a loss is known.
        #expect(ring.firstSeq(atOrAfter: sec(5)) == (1401, true))
        #expect(ring.firstSeq(atOrAfter: sec(4)) == (1401, true))
        // Nothing at or after TIME left only when every evicted line is older.
        #expect(ring.firstSeq(atOrAfter: sec(9)) == (2401, false))
    }

    @Test func aClockThatStepsBackNeverMakesTheSearchMiss() {
        let ring = LineRing(maxLines: 1000, maxBytes: 1 << 24)
        stamped(ring, [10, 20, 15, 30])  // the third line's clock stepped back
        // Its record ts is raised to 20, so ts never decreases and "from 16" starts at line 2:
        // the first line at or after 16, and everything after it.
        #expect(ring.firstSeq(atOrAfter: sec(16)) == (2, false))
        #expect(ring.firstSeq(atOrAfter: sec(21)) == (4, false))
    }

    @Test func fromReplaysHeldLinesAtOrAfterTimeThenFollows() throws {
        let s = source()
        stamped(s.ring, [10, 10, 20, 20, 30])
        #expect(seqs(json(try envelopes([("from", "1970-01-01T00:00:20Z")], s))) == [3, 4, 5])
        #expect(seqs(json(try envelopes([("from", "1970-01-01T00:00:20.000001Z")], s))) == [5])
        #expect(seqs(json(try envelopes([("from", "1970-01-01T01:00:00+01:00")], s))) == [1, 2, 3, 4, 5])
        #expect(seqs(json(try envelopes([("from", "1970-01-01T00:00:20Z"), ("n", "2")], s))) == [4, 5])
        #expect(seqs(json(try envelopes([("from", "1970-01-01T00:00:20Z"), ("n", "10")], s))) == [3, 4, 5])
        #expect(seqs(json(try envelopes([("from", "1970-01-01T00:00:20Z"), ("q", "l[35]")], s))) == [3, 5])
        #expect(seqs(json(try envelopes([("from", "1970-01-01T00:00:10Z"), ("since", "app:3")], s))) == [4, 5])
        #expect(try envelopes([("from", "1970-01-01T00:01:00Z")], s).isEmpty)
    }

    @Test func fromOlderThanTheRingReportsEvictedOnlyWhenLaterLinesLeft() throws {
        let s = source(maxLines: 4)
        stamped(s.ring, [5, 5, 10, 10, 20, 30])  // 1, 2 (t=5) left
        // TIME is older than the oldest held line, but nothing at or after it left.
        let quiet = json(try envelopes([("from", "1970-01-01T00:00:07Z")], s))
        #expect(quiet.allSatisfy { $0["type"] as? String == "lines" })
        #expect(seqs(quiet) == [3, 4, 5, 6])
        stamped(s.ring, [40])  // 3 (t=10) leaves
        let lost = json(try envelopes([("from", "1970-01-01T00:00:10Z")], s))
        #expect(lost.first?["type"] as? String == "dropped")
        #expect(lost.first?["reason"] as? String == "evicted")
        #expect(lost.first?["from_seq"] is NSNull)
        #expect((lost.first?["to_seq"] as! NSNumber).intValue == 3)
        #expect(seqs(lost) == [4, 5, 6, 7])
    }

    @Test func formatsShareTheEnvelopes() throws {
        let s = source()
        stamped(s.ring, [10, 10], text: "x\"")
        let nd = String(buffer: try envelopes([("n", "2")], s, format: .ndjson)[0])
        let objs = nd.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(nd.hasSuffix("}\n") && objs.count == 2)
        #expect(objs.map { $0["text"] as! String } == ["x\"1", "x\"2"])
        #expect(String(buffer: try envelopes([("n", "2")], s, format: .text(sourcePrefix: false))[0]) == "x\"1\nx\"2\n")
        #expect(String(buffer: try envelopes([("n", "1"), ("q", "x")], s, format: .text(sourcePrefix: true))[0]) == "app:x\"2\n")
        let sse = String(buffer: try envelopes([("n", "2")], s, format: .sse)[0])
        #expect(sse.hasPrefix("event: lines\ndata: {\"type\":\"lines\",\"lines\":[{"))
        #expect(sse.hasSuffix("]}\nid: app:2:ep1\n\n"))
        // A match's extras stay in NDJSON.
        let m = String(buffer: try envelopes([("n", "1"), ("q", "x")], s, format: .ndjson)[0])
        #expect(m.hasSuffix(#""matches":[[0,1]]}"# + "\n"))
    }

    @Test func sseIDsFollowEveryEnvelope() throws {
        let s = source(maxLines: 3)
        stamped(s.ring, [1, 1, 1, 1, 1])  // 1, 2 left
        let out = try envelopes([("since", "app:0")], s, format: .sse).map { String(buffer: $0) }
        #expect(out.count == 2)
        #expect(out[0].hasPrefix("event: dropped\ndata: {\"type\":\"dropped\""))
        #expect(out[0].hasSuffix("\nid: app:2:ep1\n\n"))
        #expect(out[1].hasSuffix("\nid: app:5:ep1\n\n"))
    }
}
