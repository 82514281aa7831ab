import Testing

@testable import TailcastCore

private func block(_ texts: [String], from seq: UInt64) -> LineBlock {
    var b = LineBlockBuilder(source: "web-1/app", nextSeq: seq, maxLineBytes: 4096)
    b.stamp(Timestamp(microseconds: 1_700_000_000_000_000))
    for t in texts { Array(t.utf8).withUnsafeBytes { b.append($0, truncated: false) } }
    return b.finish()!
}

private func fragments(_ b: LineBlock) -> [String] {
    b.records.map { r in String(decoding: b.json[Int(r.jsonStart)..<Int(r.jsonStart + r.jsonLength)], as: UTF8.self) }
}

@Suite struct BusBatchTests {
    @Test func roundTripKeepsTextsFragmentsAndMatchTexts() {
        let b = block(["plain", "\u{1B}[31mred\u{1B}[0m error", "é ü", "last"], from: 41)
        let body = BusBatch.encode(b, 0, b.count)
        let d = BusBatch.decode(body, firstSeq: 41)!
        #expect(d.firstSeq == 41 && d.count == 4)
        #expect((0..<4).map(d.string(at:)) == (0..<4).map(b.string(at:)))
        #expect(fragments(d) == fragments(b))
        #expect(d.records.map(\.isASCII) == b.records.map(\.isASCII))
        #expect(d.records.map(\.hasMatchText) == [false, true, false, false])
        let stripped = d.withMatchText(1) { String(decoding: $0, as: UTF8.self) }
        #expect(stripped == "red error")
        #expect(d.records.map(\.ts) == b.records.map(\.ts))
    }

    @Test func aSliceOfABlockAndSkippingHeldLines() {
        let b = block(["a", "b", "c", "d", "e"], from: 10)
        let body = BusBatch.encode(b, 1, 4)  // seq 11...13
        #expect(BusBatch.count(body) == 3)
        let d = BusBatch.decode(body, firstSeq: 11, skipping: 2)!
        #expect(d.firstSeq == 13 && d.count == 1 && d.string(at: 0) == "d")
        #expect(fragments(d) == [fragments(b)[3]])
        #expect(BusBatch.decode(body, firstSeq: 11, skipping: 3) == nil)
    }

    @Test func oneMessageAcrossBlocks() {
        let a = block(["a1", "\u{1B}[1ma2\u{1B}[0m", "a3"], from: 1)
        let b = block(["b1", "b2"], from: 4)
        let body = BusBatch.encode([LineSlice(block: a, start: 1, end: 3), LineSlice(block: b, start: 0, end: 2)])
        let d = BusBatch.decode(body, firstSeq: 2)!
        #expect(d.firstSeq == 2 && d.count == 4)
        #expect((0..<4).map(d.string(at:)) == [a.string(at: 1), "a3", "b1", "b2"])
        #expect(fragments(d) == Array(fragments(a)[1...]) + fragments(b))
        #expect(d.withMatchText(0) { String(decoding: $0, as: UTF8.self) } == "a2")
    }

    @Test func malformedBodiesAreRefusedNotTrapped() {
        let b = block(["one", "two"], from: 1)
        let body = BusBatch.encode(b, 0, 2)
        #expect(BusBatch.decode([], firstSeq: 1) == nil)
        #expect(BusBatch.decode(Array(body.dropLast()), firstSeq: 1) == nil)
        #expect(BusBatch.decode(body + [0], firstSeq: 1) == nil)
        var wrongVersion = body
        wrongVersion[0] = 9
        #expect(BusBatch.decode(wrongVersion, firstSeq: 1) == nil)
        var hugeCount = body
        hugeCount[1] = 0xFF
        hugeCount[2] = 0xFF
        #expect(BusBatch.decode(hugeCount, firstSeq: 1) == nil)
        var badLength = body
        badLength[BusBatch.headerBytes] = 200  // first text length past the area
        #expect(BusBatch.decode(badLength, firstSeq: 1) == nil)
        // Every single-byte change of the header and records either decodes or is refused.
        for i in 0..<(BusBatch.headerBytes + 2 * BusBatch.recordBytes) {
            var m = body
            m[i] ^= 0xA5
            _ = BusBatch.decode(m, firstSeq: 1)
        }
    }
}

@Suite struct AgentHeartbeatTests {
    @Test func roundTrip() {
        let beat = AgentHeartbeat(
            host: "web-1.example", intervalMillis: 500, stopping: false,
            sources: [
                .init(name: "app", kind: .file, path: "/var/log/app \"x\".log", state: .following, epoch: "k3f9", first: 1, next: 42),
                .init(name: "journal", kind: .journald, path: nil, state: .waiting("no journal"), epoch: "ab-_9", first: 7, next: 7),
            ])
        #expect(AgentHeartbeat.parse(beat.json) == beat)
    }

    @Test func refusesWhatItDoesNotWrite() {
        let good =
            #"{"host":"h","interval_ms":500,"sources":[{"name":"a","kind":"file","state":"following","epoch":"e","first":1,"next":2}]}"#
        #expect(AgentHeartbeat.parse(Array(good.utf8)) != nil)
        for bad in [
            #"{"host":"a/b","interval_ms":500,"sources":[]}"#,
            #"{"host":"h","interval_ms":0,"sources":[]}"#,
            #"{"host":"h","interval_ms":500,"sources":[{"name":"a b","kind":"file","state":"following","epoch":"e","first":1,"next":2}]}"#,
            #"{"host":"h","interval_ms":500,"sources":[{"name":"a","kind":"tape","state":"following","epoch":"e","first":1,"next":2}]}"#,
            #"{"host":"h","interval_ms":500,"sources":[{"name":"a","kind":"file","state":"following","epoch":"e!","first":1,"next":2}]}"#,
            #"{"host":"h","interval_ms":500,"sources":[{"name":"a","kind":"file","state":"following","epoch":"e","first":3,"next":2}]}"#,
            #"{"host":"h","interval_ms":500,"sources":[{"name":"a","kind":"file","state":"asleep","epoch":"e","first":1,"next":2}]}"#,
            "not json",
        ] {
            #expect(AgentHeartbeat.parse(Array(bad.utf8)) == nil, "\(bad)")
        }
    }
}

@Suite struct SourcePatternTests {
    @Test(arguments: [
        ("web-1/nginx", "web-1/nginx", true),
        ("web-1/nginx", "web-2/nginx", false),
        ("web-*/nginx", "web-12/nginx", true),
        ("web-*/nginx", "db-1/nginx", false),
        ("*/syslog", "db-1/syslog", true),
        ("*/syslog", "syslog", false),
        ("db-1/*", "db-1/app", true),
        ("db-1/*", "db-2/app", false),
        ("*", "app", true),
        ("*", "web-1/app", false),
        ("app*", "app.access", true),
        ("*a*b*", "xxaxxbxx", true),
        ("*a*b", "xxaxxbxxc", false),
    ])
    func matching(_ pattern: String, _ name: String, _ expected: Bool) {
        #expect(SourcePattern.matches(pattern, name) == expected)
    }

    @Test func validity() {
        #expect(SourcePattern.isValid("web-*/nginx"))
        #expect(SourcePattern.isValid("app"))
        #expect(!SourcePattern.isValid("a/b/c"))
        #expect(!SourcePattern.isValid("/app"))
        #expect(!SourcePattern.isValid("a b"))
        #expect(!SourcePattern.isValid(String(repeating: "a", count: 65)))
    }

    @Test func manyStarsStayLinear() {
        let pattern = String(repeating: "*a", count: 30) + "b"
        let name = String(repeating: "a", count: 64)
        #expect(!SourcePattern.matches(pattern, name))
    }
}

@Suite struct BusSubjectsTests {
    @Test func dotsAreEscapedInsideTokens() {
        #expect(BusSubjects.source(host: "web-1", name: "app") == "tailcast.web-1.app")
        #expect(BusSubjects.source(host: "web-1.example.com", name: "nginx.access") == "tailcast.web-1%2Eexample%2Ecom.nginx%2Eaccess")
        #expect(BusSubjects.heartbeat(host: "a.b") == "tailcast-heartbeat.a%2Eb")
    }
}
