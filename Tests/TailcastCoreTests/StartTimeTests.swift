import Testing

@testable import TailcastCore

@Suite struct StartTimeTests {
    private let now = Timestamp(microseconds: 1_796_292_000_000_000)  // 2026-12-03T10:00:00Z

    @Test func rfc3339InUTC() {
        #expect(StartTime.parse("2026-12-03T10:00:00Z")?.microseconds == 1_796_292_000_000_000)
        #expect(StartTime.parse("1970-01-01T00:00:00Z")?.microseconds == 0)
        #expect(StartTime.parse("2000-02-29T23:59:59z")?.rfc3339 == "2000-02-29T23:59:59.000000Z")
        #expect(StartTime.parse("2026-12-03 10:00:00Z")?.microseconds == 1_796_292_000_000_000)
    }

    @Test func offsetsAndFractions() {
        #expect(StartTime.parse("2026-12-03T10:00:00.5+01:00")?.rfc3339 == "2026-12-03T09:00:00.500000Z")
        #expect(StartTime.parse("2026-12-03T10:00:00.123456789-05:30")?.rfc3339 == "2026-12-03T15:30:00.123456Z")
        #expect(StartTime.parse("2026-12-03T00:30:00+01:00")?.rfc3339 == "2026-12-02T23:30:00.000000Z")
        #expect(StartTime.parse("2026-12-03T10:00:00.000001Z")?.microseconds == 1_796_292_000_000_001)
    }

    @Test func negativeDurationsFromNow() {
        #expect(StartTime.parse("-30s", now: now)?.microseconds == now.microseconds - 30_000_000)
        #expect(StartTime.parse("-15m", now: now)?.microseconds == now.microseconds - 900_000_000)
        #expect(StartTime.parse("-2h", now: now)?.microseconds == now.microseconds - 7_200_000_000)
        #expect(StartTime.parse("-1d", now: now)?.microseconds == now.microseconds - 86_400_000_000)
        #expect(StartTime.parse("-0s", now: now) == now)
        #expect(StartTime.parse("-3650d", now: now) != nil)
    }

    @Test func rejectsEverythingElse() {
        for bad in [
            "", "now", "15m", "-15", "-m", "-15x", "+15m", "-1.5h", "-3651d", "-99999999999s",
            "2026-12-03", "2026-12-03T10:00:00", "2026-12-03T10:00Z", "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z", "2026-12-03T24:00:00Z", "2026-12-03T10:00:00.Z",
            "2026-12-03T10:00:00+0100", "2026-12-03T10:00:00+01:00x", "2026-12-03T10:00:00 Z",
            "１２３４-12-03T10:00:00Z", String(repeating: "9", count: 100),
        ] {
            #expect(StartTime.parse(bad, now: now) == nil, "\(bad) was accepted")
        }
    }

    @Test func queryParserTakesFromAndNamesItWhenBad() throws {
        let q = try QueryParser().parse(parameters: [("from", "2026-12-03T10:00:00Z")])
        #expect(q.from?.microseconds == 1_796_292_000_000_000)
        #expect(q.json.contains(#""from":"2026-12-03T10:00:00.000000Z""#))
        for bad in ["yesterday", "-15q", ""] {
            do {
                _ = try QueryParser().parse(parameters: [("from", bad)])
                Issue.record("from=\(bad) was accepted")
            } catch {
                #expect(error.param == "from")
                #expect(error.code == "bad_query")
            }
        }
        let m = try QueryParser().parse(message: .object([("type", .string("query")), ("from", .string("-15m"))]))
        #expect(m.from != nil)
        do {
            _ = try QueryParser().parse(message: .object([("type", .string("query")), ("from", .number(5))]))
            Issue.record("a number was accepted as from")
        } catch {
            #expect(error.param == "from")
        }
    }
}
