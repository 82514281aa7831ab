import Testing

@testable import TailcastCore

/// 2026-12-03T12:00:00Z, the read time of the lines below.
private let readTime = Timestamp(microseconds: 1_796_299_200_000_000)

/// Parses `line` with the server's zone fixed at `offset` seconds east of UTC; `nil` when no
/// time was found, else the rendered `log_ts`.
private func logTs(_ line: String, offset: Int64 = 0, now: Timestamp = readTime) -> String? {
    var p = LineTimeParser(localOffset: { _ in offset })
    p.setNow(now)
    guard let ts = Array(line.utf8).withUnsafeBytes({ p.parse($0) }) else { return nil }
    var out: [UInt8] = []
    CivilTime.appendRFC3339(ts.microseconds, to: &out)
    return String(decoding: out, as: UTF8.self)
}

@Suite struct LineTimeParserTests {
    @Test func rfc3339WithZonesAndFractions() {
        #expect(logTs("2026-12-03T10:00:00.123Z INFO up") == "2026-12-03T10:00:00.123000Z")
        #expect(logTs("2026-12-03T10:00:00Z") == "2026-12-03T10:00:00.000000Z")
        #expect(logTs("2026-12-03t10:00:00z x") == "2026-12-03T10:00:00.000000Z")
        #expect(logTs("2026-12-03T10:00:00.5+01:00 x") == "2026-12-03T09:00:00.500000Z")
        #expect(logTs("2026-12-03T10:00:00-0530 x") == "2026-12-03T15:30:00.000000Z")
        #expect(logTs("2026-12-03T10:00:00+02 x") == "2026-12-03T08:00:00.000000Z")
        #expect(logTs("2026-12-03T10:00:00.123456789Z") == "2026-12-03T10:00:00.123456Z")
        #expect(logTs("2026-12-03 10:00:00.000001 x") == "2026-12-03T10:00:00.000001Z")
        #expect(logTs("2026-12-03 10:00:00,250 INFO python logging") == "2026-12-03T10:00:00.250000Z")
        #expect(logTs("[2026-12-03T10:00:00Z] bracketed") == "2026-12-03T10:00:00.000000Z")
        #expect(logTs("2026-12-31T23:30:00-01:00 next year in UTC") == "2027-01-01T00:30:00.000000Z")
    }

    @Test func withoutZoneIsServerLocalTime() {
        #expect(logTs("2026-12-03 10:00:00 INFO", offset: 3600) == "2026-12-03T09:00:00.000000Z")
        #expect(logTs("2026-12-03T10:00:00 INFO", offset: -8 * 3600) == "2026-12-03T18:00:00.000000Z")
        #expect(logTs("2026/12/03 10:00:00 [error] 12#0: nginx", offset: 3600) == "2026-12-03T09:00:00.000000Z")
        // A zone in the line wins over the server's.
        #expect(logTs("2026-12-03T10:00:00Z", offset: 3600) == "2026-12-03T10:00:00.000000Z")
    }

    @Test func invalidDatesTimesAndZonesGiveNoTime() {
        for line in [
            "2026-02-29T10:00:00Z", "2026-02-30 10:00:00", "2026-13-01 10:00:00", "2026-00-10 10:00:00",
            "2026-12-32 10:00:00", "2026-12-03T24:00:00Z", "2026-12-03T10:60:00Z", "2026-12-03T10:00:61Z",
            "2026-12-03T10:00:00+24:00", "2026-12-03T10:00:00+01:60", "2026-12-03T10:00:00+1 x",
            "2026-12-03T10:00", "2026-12-03", "2026-12-03T10:00:00.1234567890Z",
            "2026-12-03T10:00:00ZZ", "2026-12-03T10:00:00abc", "2026-12-03X10:00:00", "2026-12/03 10:00:00",
            "20261203T100000Z", "12026-12-03T10:00:00Z", "1234", "", "x 2026-12-03T10:00:00Z",
            "2026-12-03T1O:00:00Z",
        ] {
            #expect(logTs(line) == nil, "\(line)")
        }
        #expect(logTs("2028-02-29T10:00:00Z") == "2028-02-29T10:00:00.000000Z")  // a leap year
        #expect(logTs("2000-02-29T10:00:00Z") == "2000-02-29T10:00:00.000000Z")
        #expect(logTs("1900-02-29T10:00:00Z") == nil)
    }

    @Test func syslogPicksTheYearFromTheReadTime() {
        #expect(logTs("Dec  3 10:00:00 host sshd[1]: ok") == "2026-12-03T10:00:00.000000Z")
        #expect(logTs("Dec 03 10:00:00.250 host x") == "2026-12-03T10:00:00.250000Z")
        #expect(logTs("Dec 3 10:00:00 host x") == "2026-12-03T10:00:00.000000Z")
        #expect(logTs("Dec  3 10:00:00 host", offset: 3600) == "2026-12-03T09:00:00.000000Z")
        // Up to a day ahead is this year (clock skew); more is last year.
        #expect(logTs("Dec  4 11:00:00 host") == "2026-12-04T11:00:00.000000Z")
        #expect(logTs("Dec  5 12:00:01 host") == "2025-12-05T12:00:01.000000Z")
        // Year rollover: Dec 31 read on January 1st is last year; Jan 1 read on Dec 31st is next year.
        let newYear = Timestamp(microseconds: 1_798_761_600_000_000 + 600_000_000)  // 2027-01-01T00:10:00Z
        #expect(logTs("Dec 31 23:59:59 host", now: newYear) == "2026-12-31T23:59:59.000000Z")
        #expect(logTs("Jan  1 00:09:00 host", now: newYear) == "2027-01-01T00:09:00.000000Z")
        let newYearsEve = Timestamp(microseconds: 1_798_761_600_000_000 - 600_000_000)  // 2026-12-31T23:50:00Z
        #expect(logTs("Jan  1 00:05:00 host", now: newYearsEve) == "2027-01-01T00:05:00.000000Z")
        // Feb 29 takes the latest leap year that is not ahead: none of 2025–2027 is one.
        #expect(logTs("Feb 29 10:00:00 host") == nil)
        for line in [
            "Dex  3 10:00:00 host", "dec  3 10:00:00 host", "Dec 32 10:00:00 host", "Dec  3 25:00:00 host",
            "Dec  3 10:00 host", "Dec   3 10:00:00 host", "Dec  310:00:00 host", "Dec  3 10:00:00host",
        ] {
            #expect(logTs(line) == nil, "\(line)")
        }
    }

    @Test func commonAndCombinedLogAfterTheClientFields() {
        let combined = #"203.0.113.7 - alice [03/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8""#
        #expect(logTs(combined) == "2026-12-03T10:00:00.000000Z")
        #expect(logTs(#"::1 - - [03/Dec/2026:10:00:00 -0700] "GET / HTTP/1.1" 200 5"#) == "2026-12-03T17:00:00.000000Z")
        #expect(logTs(#"example.com:443 10.0.0.1 - - [03/Dec/2026:10:00:00.123 +0100] "GET /""#) == "2026-12-03T09:00:00.123000Z")
        for line in [
            #"1.2.3.4 - - [31/Nov/2026:10:00:00 +0000] "GET /""#, #"1.2.3.4 - - [03/Dez/2026:10:00:00 +0000] "x""#,
            #"1.2.3.4 - - [03/Dec/2026:10:00:00] "x""#, #"1.2.3.4 - - [03/Dec/2026 10:00:00 +0000] "x""#,
            #"1.2.3.4 - [03/Dec/2026:10:00:00 +0000] "x""#, #"INFO [03/Dec/2026:10:00:00 +0000] x"#,
            #""GET" a b [03/Dec/2026:10:00:00 +0000] x"#, #"1.2.3.4 - - [03/Dec/2026:10:00:00 +0000"#,
        ] {
            #expect(logTs(line) == nil, "\(line)")
        }
        // Only the first 256 bytes are looked at.
        #expect(logTs(String(repeating: "h", count: 240) + #" - - [03/Dec/2026:10:00:00 +0000] "x""#) == nil)
    }

    @Test func rendersMicrosecondsInUTC() {
        var out: [UInt8] = []
        CivilTime.appendRFC3339(0, to: &out)
        CivilTime.appendRFC3339(1_764_064_800_123_456, to: &out)
        CivilTime.appendRFC3339(951_782_400_000_001, to: &out)
        #expect(
            String(decoding: out, as: UTF8.self)
                == "1970-01-01T00:00:00.000000Z" + "2025-11-25T10:00:00.123456Z" + "2000-02-29T00:00:00.000001Z")
        for days in stride(from: -1000, to: 200_000, by: 37) {
            let d = CivilTime.date(days: days)
            #expect(CivilTime.days(year: d.year, month: d.month, day: d.day) == days)
        }
        // The same text as Timestamp's libc rendering.
        for micros: Int64 in [1, 86_399_999_999, 1_796_299_200_000_000, 4_102_444_799_999_999] {
            var mine: [UInt8] = []
            CivilTime.appendRFC3339(micros, to: &mine)
            #expect(mine == Timestamp(microseconds: micros).rfc3339Bytes)
        }
    }

    @Test func localZoneIsLookedUpOncePerHour() {
        var calls = 0
        var p = LineTimeParser(localOffset: { _ in
            calls += 1
            return 0
        })
        p.setNow(readTime)
        for minute in 0..<60 {
            let line = "2026-12-03 10:\(minute < 10 ? "0" : "")\(minute):00 x"
            #expect(Array(line.utf8).withUnsafeBytes { p.parse($0) } != nil)
        }
        #expect(calls == 1)
    }
}

@Suite struct LogTsFragmentTests {
    private func fragment(_ line: String, stamp: Timestamp = readTime) -> String {
        var b = LineBlockBuilder(source: "app", nextSeq: 1, maxLineBytes: 1024)
        b.stamp(stamp)
        Array(line.utf8).withUnsafeBytes { b.append($0, truncated: false, file: nil) }
        let block = b.finish()!
        let r = block.records[0]
        return String(decoding: block.json[Int(r.jsonStart)..<Int(r.jsonStart + r.jsonLength)], as: UTF8.self)
    }

    @Test func fileLinesCarryLogTsWhenOneIsFound() {
        #expect(
            fragment("2026-12-03T10:00:00.5Z up")
                == #"{"source":"app","seq":1,"ts":"2026-12-03T12:00:00.000000Z","text":"2026-12-03T10:00:00.5Z up","log_ts":"2026-12-03T10:00:00.500000Z"},"#
        )
        #expect(!fragment("no time here").contains("log_ts"))
        // A coloured timestamp is found in the text without its colours.
        #expect(fragment("\u{1B}[2m2026-12-03T10:00:00Z\u{1B}[0m up").hasSuffix(#","log_ts":"2026-12-03T10:00:00.000000Z"},"#))
    }

    @Test func journalLinesCarryTheirSourceTime() {
        var b = LineBlockBuilder(source: "j", nextSeq: 1, maxLineBytes: 1024)
        let fields: [UInt8] = Array(#"{"unit":"x"}"#.utf8)
        Array("2026-12-03T01:00:00Z not parsed".utf8).withUnsafeBytes {
            b.appendJournal(
                message: $0, ts: readTime, priority: 6, fieldsJSON: fields, fields: [],
                sourceTime: Timestamp(microseconds: 1_796_299_199_000_001))
        }
        Array("no source time".utf8).withUnsafeBytes {
            b.appendJournal(message: $0, ts: readTime, priority: 6, fieldsJSON: fields, fields: [])
        }
        let block = b.finish()!
        func frag(_ i: Int) -> String {
            let r = block.records[i]
            return String(decoding: block.json[Int(r.jsonStart)..<Int(r.jsonStart + r.jsonLength)], as: UTF8.self)
        }
        #expect(
            frag(0).hasSuffix(#""text":"2026-12-03T01:00:00Z not parsed","log_ts":"2026-12-03T11:59:59.000001Z","fields":{"unit":"x"}},"#))
        #expect(!frag(1).contains("log_ts"))
        #expect(JournalEntryRenderer.microseconds(UnsafeRawBufferPointer(start: nil, count: 0)) == nil)
    }
}
