import ArgumentParser
import Foundation
import TailcastCore

@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tailcast-bench",
        abstract: "Benchmarks for tailcast: pattern scan speed, corpus generation and WebSocket load.",
        subcommands: [Generate.self, Scan.self, Write.self, Load.self, Idle.self]
    )
}

/// Writes a corpus of log-like lines of a fixed length.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gen", abstract: "Write a corpus of fixed-length log lines.")
    @Option var file: String
    @Option var lines = 1_000_000
    @Option var length = 150

    func run() throws {
        let out =
            FileHandle(forWritingAtPath: file)
            ?? {
                _ = FileManager.default.createFile(atPath: file, contents: nil)
                return FileHandle(forWritingAtPath: file)!
            }()
        out.truncateFile(atOffset: 0)
        var rng = SplitMix(seed: 42)
        var chunk = [UInt8]()
        chunk.reserveCapacity(1 << 20)
        for i in 0..<lines {
            chunk.append(contentsOf: Corpus.line(i, length: length, rng: &rng))
            chunk.append(0x0A)
            if chunk.count > (1 << 20) - 512 {
                out.write(Data(chunk))
                chunk.removeAll(keepingCapacity: true)
            }
        }
        out.write(Data(chunk))
    }
}

/// Times ``LineFilter`` over every line of a file (the file is loaded first, untimed).
struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Lines per second that one query keeps or drops, on one core.")
    @Option var file: String
    @Option(name: .customLong("q")) var patterns: [String] = []
    @Flag(name: .customShort("F")) var literal = false
    @Flag(name: .customShort("i")) var ignoreCase = false
    @Flag(name: .customShort("w")) var word = false
    @Flag(name: .customShort("v")) var invert = false
    @Option var runs = 3

    func run() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        var builder = LineBlockBuilder(source: "bench", nextSeq: 1, maxLineBytes: 65536)
        var splitter = LineSplitter(maxLineBytes: 65536)
        var blocks: [LineBlock] = []
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let end = min(raw.count, off + (4 << 20))
                splitter.split(UnsafeRawBufferPointer(rebasing: raw[off..<end])) { line, cut in builder.append(line, truncated: cut) }
                if let b = builder.finish() { blocks.append(b) }
                off = end
            }
        }
        var query = Query()
        query.patterns = patterns
        query.literal = literal
        query.ignoreCase = ignoreCase
        query.wordMatch = word
        query.invert = invert
        var filter = try LineFilter(query)
        let total = blocks.reduce(0) { $0 + $1.count }
        var best = Double.infinity
        var kept = 0
        for _ in 0..<runs {
            kept = 0
            let start = DispatchTime.now().uptimeNanoseconds
            for b in blocks {
                var i = 0
                while let k = filter.firstKept(in: b, from: i, to: b.count) {
                    kept += 1
                    i = k + 1
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        print("lines=\(total) kept=\(kept) seconds=\(String(format: "%.4f", best)) lines_per_s=\(Int(Double(total) / best))")
    }
}

/// Deterministic pseudo-random numbers (so corpora are the same on every run).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Log-like lines: levels, services, durations, addresses; ~1 % carry ERROR, ~10 % "timeout".
enum Corpus {
    static let levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "INFO", "INFO", "DEBUG", "INFO", "NOTICE"]
    static let services = ["api", "auth", "billing", "search", "worker", "gateway", "db", "cache"]
    static let messages = [
        "request completed", "cache miss for key", "user session refreshed", "connection reset by peer",
        "upstream timeout after retry", "query executed", "job scheduled", "token validated",
        "connection refused", "slow response from backend",
    ]

    static func line(_ i: Int, length: Int, rng: inout SplitMix) -> [UInt8] {
        let r = rng.next()
        let level = r % 100 == 0 ? "ERROR" : levels[Int(r >> 8) % levels.count]
        let svc = services[Int(r >> 16) % services.count]
        let msg = messages[Int(r >> 24) % messages.count]
        let ms = Int(r >> 32) % 5000
        var s =
            "2026-11-25T10:\(String(format: "%02d:%02d", (i / 60000) % 60, (i / 1000) % 60)).\(String(format: "%03d", i % 1000))Z \(level) [\(svc)] \(msg) id=\(r % 1_000_000) duration=\(ms).\(r % 10)ms client=10.\(r % 256).\((r >> 8) % 256).\((r >> 16) % 256) "
        while s.utf8.count < length { s += "x" }
        return Array(s.utf8.prefix(length))
    }
}
