import Foundation
import Testing

@testable import TailcastCore

/// Runs the real `grep` on `lines` and returns the indexes of the lines it prints.
private func grep(_ args: [String], _ lines: [String]) throws -> Set<Int> {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailcast-grep-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("corpus.txt")
    try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["grep", "-n"] + args + ["--", file.path]
    var env = ProcessInfo.processInfo.environment
    env["LC_ALL"] = "C.UTF-8"
    p.environment = env
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    return Set(text.split(separator: "\n").compactMap { l in l.split(separator: ":").first.flatMap { Int($0) }.map { $0 - 1 } })
}

private func kept(_ query: Query, _ lines: [String]) throws -> Set<Int> {
    var f = try LineFilter(query)
    var out = Set<Int>()
    for (i, l) in lines.enumerated() where Array(l.utf8).withUnsafeBytes({ f.keeps($0) }) { out.insert(i) }
    return out
}

private let corpus: [String] = {
    var lines = [
        "ERROR disk full on /dev/sda1", "error: timeout after 30s", "Warning: low memory",
        "user=alice action=login ok", "user=bob action=logout", "Straße geschlossen", "STRASSE",
        "ÉCOLE école Ecole", "naïve café", "日本語のログ error 発生", "emoji 🎉 error here", "foo_bar foo-bar foobar",
        "a.b.c", "[brackets] (parens) {braces}", "tab\tseparated\tvalues", "", "   ", "x", "errors everywhere", "terror",
        "Error Error ERROR", "GET /api/v1/items?id=42 200 12ms", "POST /login 401", "id=0042", "σίσυφος ΣΊΣΥΦΟΣ",
    ]
    var rng = SystemRandomNumberGenerator()
    let words = ["error", "warn", "info", "alpha", "beta", "ÉTÉ", "été", "x_y", "42", "tcp:443", "a+b", "🎉"]
    for _ in 0..<300 {
        let n = Int.random(in: 1...6, using: &rng)
        lines.append((0..<n).map { _ in words.randomElement(using: &rng)! }.joined(separator: Bool.random() ? " " : "-"))
    }
    return lines
}()

@Suite struct LineFilterGrepTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var patterns: [String]
        var F = false, i = false, v = false, w = false
        var testDescription: String { "\(patterns) F=\(F) i=\(i) v=\(v) w=\(w)" }
    }

    static let cases: [Case] = [
        Case(patterns: ["error"]), Case(patterns: ["error"], i: true), Case(patterns: ["error"], w: true),
        Case(patterns: ["error"], i: true, w: true), Case(patterns: ["error"], v: true),
        Case(patterns: ["a.b"], F: true), Case(patterns: ["a.b"]), Case(patterns: ["a+b"], F: true, w: true),
        Case(patterns: ["[0-9]{2,}"]), Case(patterns: ["^user=\\w+"]), Case(patterns: ["\\bfoo\\b"]),
        Case(patterns: ["école"], i: true), Case(patterns: ["ÉTÉ"], i: true), Case(patterns: ["σίσυφος"], i: true),
        Case(patterns: ["error|warn"], i: true), Case(patterns: ["(?i)get|post"]), Case(patterns: ["🎉"]),
        Case(patterns: ["foo"], w: true), Case(patterns: ["x_y"], w: true), Case(patterns: ["tcp:443"], F: true, i: true),
        Case(patterns: ["^$"]), Case(patterns: ["^\\s+$"]), Case(patterns: ["e"], F: true, v: true),
    ]

    @Test(arguments: cases)
    func keepsWhatGrepPrints(_ c: Case) throws {
        var q = Query()
        q.patterns = c.patterns
        q.literal = c.F
        q.ignoreCase = c.i
        q.invert = c.v
        q.wordMatch = c.w
        var args = [c.F ? "-F" : "-P"]
        if c.i { args.append("-i") }
        if c.v { args.append("-v") }
        if c.w { args.append("-w") }
        args += ["-e", c.patterns[0]]
        #expect(try kept(q, corpus) == grep(args, corpus))
    }

    @Test func severalPatternsMustAllMatchAndNotDrops() throws {
        var q = Query()
        q.patterns = ["error", "[0-9]"]
        q.ignoreCase = true
        q.excludes = ["disk"]
        let both = try grep(["-P", "-i", "error"], corpus).intersection(grep(["-P", "-i", "[0-9]"], corpus))
        let expected = both.subtracting(try grep(["-P", "-i", "disk"], corpus))
        #expect(try kept(q, corpus) == expected)
    }

    @Test func invertWithSeveralPatternsKeepsLinesWhereNotAllMatch() throws {
        var q = Query()
        q.patterns = ["error", "[0-9]"]
        q.invert = true
        let both = try grep(["-P", "error"], corpus).intersection(grep(["-P", "[0-9]"], corpus))
        #expect(try kept(q, corpus) == Set(corpus.indices).subtracting(both))
    }

    @Test func spansAreGrepOnlyMatchingUnionInUTF16() throws {
        var q = Query()
        q.patterns = ["error", "rr"]
        q.ignoreCase = true
        var f = try LineFilter(q)
        let line = "日本 🎉 Error terror"
        let spans = Array(line.utf8).withUnsafeBytes { UTF16Offsets.convert(f.spans($0), in: $0, ascii: false) }
        let utf16 = Array(line.utf16)
        let pieces = spans.map { String(decoding: utf16[$0.0..<$0.1], as: UTF16.self) }
        #expect(pieces == ["Error", "error"])
        #expect(spans.first?.0 == 6)  // 日 本 space 🎉(2) space
    }

    @Test func badPatternNamesParamWithPCRE2Message() {
        var q = Query()
        q.excludes = ["(unclosed"]
        do {
            _ = try LineFilter(q)
            Issue.record("accepted")
        } catch {
            #expect(error.param == "not")
            #expect(error.message.contains("missing closing parenthesis"))
            #expect(error.message.contains("offset"))
        }
    }

    @Test func catastrophicPatternHitsTheLimitInsteadOfStalling() throws {
        var q = Query()
        q.patterns = ["(a+)+$"]
        var f = try LineFilter(q)
        let line = Array((String(repeating: "a", count: 5000) + "!").utf8)
        let keep = line.withUnsafeBytes { f.keeps($0) }
        #expect(!keep)
        #expect(f.limitHits == 1)
    }

    @Test func randomPatternsNeverCrash() throws {
        var rng = SystemRandomNumberGenerator()
        let atoms = ["a", "b", ".", "*", "+", "?", "(", ")", "[", "]", "|", "\\w", "\\d", "{2}", "^", "$", "é", "🎉", "(?i)", "\\"]
        var compiled = 0
        for _ in 0..<2000 {
            let p = (0..<Int.random(in: 1...8, using: &rng)).map { _ in atoms.randomElement(using: &rng)! }.joined()
            var q = Query()
            q.patterns = [p]
            q.ignoreCase = Bool.random(using: &rng)
            q.wordMatch = Bool.random(using: &rng)
            guard var f = try? LineFilter(q) else { continue }
            compiled += 1
            for line in corpus.prefix(40) {
                Array(line.utf8).withUnsafeBytes { buf in
                    if f.keeps(buf) { _ = f.spans(buf) }
                }
            }
        }
        #expect(compiled > 100)
    }
}

@Suite struct FirstKeptTests {
    private func block(_ texts: [String]) -> LineBlock {
        var b = LineBlockBuilder(source: "s", nextSeq: 1, maxLineBytes: 4096)
        for t in texts { Array(t.utf8).withUnsafeBytes { b.append($0, truncated: false) } }
        return b.finish()!
    }

    @Test func literalHitsNeverSpanTwoLines() throws {
        var q = Query()
        q.patterns = ["bc"]
        q.literal = true
        var f = try LineFilter(q)
        let b = block(["ab", "cd", "xbcx", "b", "c", "bc"])
        var found: [Int] = []
        var i = 0
        while let k = f.firstKept(in: b, from: i, to: b.count) {
            found.append(k)
            i = k + 1
        }
        #expect(found == [2, 5])
    }

    @Test func agreesWithLineByLineForEveryFilterKind() throws {
        let texts = (0..<500).map { i in i % 7 == 0 ? "error \(i)" : (i % 5 == 0 ? "ERR\(i)or" : "line \(i)") }
        let b = block(texts)
        for (pattern, literal, ci) in [("error", true, false), ("error", true, true), ("err.r", false, false), ("", true, false)] {
            var q = Query()
            q.patterns = [pattern]
            q.literal = literal
            q.ignoreCase = ci
            var fast = try LineFilter(q)
            var slow = try LineFilter(q)
            var got: [Int] = []
            var i = 0
            while let k = fast.firstKept(in: b, from: i, to: b.count) {
                got.append(k)
                i = k + 1
            }
            let expected = (0..<b.count).filter { idx in b.withText(idx) { slow.keeps($0) } }
            #expect(got == expected, "pattern \(pattern) literal=\(literal) i=\(ci)")
        }
    }
}
