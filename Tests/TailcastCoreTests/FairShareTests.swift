import CoreMetrics
import Foundation
import NIOCore
import Testing

@testable import TailcastCore

/// The "fair share" rules of the contract at the level of one subscription: bounded work per
/// poll, the `n` replay done in slices, one decision for replay, live lines and context.
@Suite struct FairShareTests {
    static let metrics = PipelineMetrics(factory: NOOPMetricsHandler.instance)

    static func source(kind: SourceKind = .file) -> SourceHandle {
        SourceHandle(
            name: "app", kind: kind, path: "/x", epoch: "ep1",
            ring: LineRing(maxLines: 1_000_000, maxBytes: 1 << 30), metrics: metrics.forSource("app"))
    }

    static func append(_ s: SourceHandle, _ lines: [String]) {
        var b = LineBlockBuilder(source: s.name, nextSeq: s.ring.bounds.next, maxLineBytes: 65_536)
        for l in lines { Array(l.utf8).withUnsafeBytes { b.append($0, truncated: false) } }
        s.publish(b.finish()!, bytesRead: 0)
    }

    /// Journal entries `(message, identifier)`.
    static func appendJournal(_ s: SourceHandle, _ entries: [(String, String)]) {
        var b = LineBlockBuilder(source: s.name, nextSeq: s.ring.bounds.next, maxLineBytes: 65_536)
        for (message, identifier) in entries {
            var fields: [UInt8] = []
            Array("SYSLOG_IDENTIFIER".utf8).withUnsafeBytes { k in
                Array(identifier.utf8).withUnsafeBytes { v in JournalFields.append(key: k, value: v, to: &fields) }
            }
            let json = Array("{\"identifier\":\"\(identifier)\"}".utf8)
            Array(message.utf8).withUnsafeBytes { m in
                b.appendJournal(message: m, ts: Timestamp(microseconds: 0), priority: 6, fieldsJSON: json, fields: fields)
            }
        }
        s.publish(b.finish()!, bytesRead: 0)
    }

    static func subscription(_ params: [(String, String)], _ s: SourceHandle) throws -> Subscription {
        try Subscription(
            query: QueryParser().parse(parameters: params), sources: [s], writer: EnvelopeWriter(),
            metrics: metrics)
    }

    /// Polls until the subscription has nothing pending; returns the texts and the number of polls.
    static func drain(_ sub: inout Subscription, budgetNanos: Int64) -> (texts: [String], context: [Bool], polls: Int) {
        var texts: [String] = []
        var context: [Bool] = []
        var polls = 0
        repeat {
            polls += 1
            for buf in sub.poll(maxFrameBytes: 1 << 20, budgetNanos: budgetNanos) {
                let obj = try! JSONSerialization.jsonObject(with: Data(buf.readableBytesView)) as! [String: Any]
                guard obj["type"] as? String == "lines" else { continue }
                for l in obj["lines"] as! [[String: Any]] {
                    texts.append(l["text"] as! String)
                    context.append((l["context"] as? Bool) ?? false)
                }
            }
        } while sub.hasPendingWork && polls < 1_000_000
        return (texts, context, polls)
    }

    @Test func catastrophicPatternReplayIsDoneInSlicesAfterHello() throws {
        let s = Self.source()
        let bad = String(repeating: "a", count: 40) + "!"
        Self.append(s, ["ok 1", "ok 2"] + Array(repeating: bad, count: 4_000) + ["ok 3"])
        // (a+)+$ gives up on every "aaa…!" line (the match limit); "ok" lines match the other branch.
        var sub = try Self.subscription([("q", "(a+)+$|ok"), ("n", "3")], s)
        let first = sub.poll(maxFrameBytes: 1 << 20, budgetNanos: 200_000)
        #expect(first.isEmpty)
        #expect(sub.hasPendingWork, "one poll must not scan 4 000 catastrophic lines")
        let result = Self.drain(&sub, budgetNanos: 200_000)
        #expect(result.texts == ["ok 1", "ok 2", "ok 3"])
        #expect(result.polls > 1)
    }

    @Test func liveFilteringStopsAtTheBudgetAndResumesWhereItStopped() throws {
        let s = Self.source()
        var sub = try Self.subscription([("q", "X"), ("not", "(a+)+$"), ("not", "(a|aa)+$"), ("not", "(a*)*b")], s)
        #expect(sub.poll(maxFrameBytes: 1 << 20).isEmpty)
        let bad = "X " + String(repeating: "a", count: 40) + "!"
        Self.append(s, (0..<3_000).map { $0 % 100 == 0 ? "X keep \($0)" : bad })
        let first = sub.poll(maxFrameBytes: 1 << 20, budgetNanos: 100_000)
        #expect(sub.hasPendingWork)
        var texts: [String] = []
        for buf in first {
            let obj = try JSONSerialization.jsonObject(with: Data(buf.readableBytesView)) as! [String: Any]
            texts += ((obj["lines"] as? [[String: Any]]) ?? []).map { $0["text"] as! String }
        }
        texts += Self.drain(&sub, budgetNanos: 100_000).texts
        // Lines on which a `not` pattern gives up are kept (a limit is "no match"), so every
        // line arrives exactly once, in order, across the slices.
        #expect(texts.count == 3_000)
        #expect(texts.filter { $0.hasPrefix("X keep") } == (0..<30).map { "X keep \($0 * 100)" })
    }

    @Test func matchLimitIsSharedByAQuerysPatterns() {
        #expect(Pattern.matchLimit(patterns: 1) == Pattern.lineMatchBudget)
        #expect(Pattern.matchLimit(patterns: 2) == Pattern.lineMatchBudget / 2)
        #expect(Pattern.matchLimit(patterns: 16) == Pattern.minimumMatchLimit)
    }

    @Test func aCancelledTaskStopsPolling() async throws {
        let s = Self.source()
        Self.append(s, Array(repeating: String(repeating: "a", count: 40) + "!", count: 2_000))
        let task = Task { () -> Bool in
            withUnsafeCurrentTask { $0?.cancel() }
            var sub = try Self.subscription([("q", "(a+)+$"), ("n", "5")], s)
            _ = sub.poll(maxFrameBytes: 1 << 20, budgetNanos: .max)
            return sub.hasPendingWork
        }
        #expect(try await task.value, "a cancelled connection must not finish its scan")
    }

    @Test func journalFiltersChooseTheReplayedLines() throws {
        let s = Self.source(kind: .journald)
        var entries: [(String, String)] = []
        for i in 1...200 {
            entries.append(("a \(i)", "A"))
            entries.append(("b \(i)", "B"))
        }
        Self.appendJournal(s, entries)
        var sub = try Self.subscription([("n", "50"), ("identifier", "A")], s)
        let texts = Self.drain(&sub, budgetNanos: Subscription.defaultBudgetNanos).texts
        #expect(texts == (151...200).map { "a \($0)" })
    }

    @Test func journalContextComesFromTheFilteredLines() throws {
        let s = Self.source(kind: .journald)
        var sub = try Self.subscription([("q", "mark"), ("identifier", "A"), ("C", "2")], s)
        #expect(sub.poll(maxFrameBytes: 1 << 20).isEmpty)
        var entries: [(String, String)] = []
        for i in 1...10 {
            entries.append((i == 5 ? "a mark" : "a \(i)", "A"))
            entries.append(("b \(i)", "B"))
        }
        Self.appendJournal(s, entries)
        let result = Self.drain(&sub, budgetNanos: Subscription.defaultBudgetNanos)
        #expect(result.texts == ["a 3", "a 4", "a mark", "a 6", "a 7"])
        #expect(result.context == [true, true, false, true, true])
    }

    @Test func resumeBeyondTheLargestSeqIsRejected() {
        do {
            _ = try QueryParser().parse(parameters: [("since", "app:18446744073709551615")])
            Issue.record("accepted")
        } catch {
            #expect(error.param == "since")
            #expect(error.code == "bad_query")
        }
        #expect((try? QueryParser().parse(parameters: [("since", "app:9007199254740991:e1")])) != nil)
    }
}
