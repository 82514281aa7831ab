import ArgumentParser
import CLinux
import Foundation
import Histogram
import Logging
import NIOCore
import NIOPosix
import Synchronization
import TailcastCore
import WSClient

/// Drives WebSocket clients against a server that follows a file, starts a separate writer
/// process (`tailcast-bench write`) that appends timestamped lines to it, and measures delivery:
/// lines/s, latency from write to receive (both sides read `CLOCK_MONOTONIC`), drops. With
/// several `--file`s (the sources of several hosts, e.g. agents on a bus), one writer process
/// per file, all started together, each writing `--lines` at `--rate`.
///
/// Counts lines without decoding envelopes: a tailcast `lines` frame is scanned for `"text":"`
/// markers, a tailon frame (a JSON array of lines) for `"` followed by a digit; any other frame
/// (websocketd's) is one raw line.
struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a writer process and measure the delivery of its lines to WebSocket clients.")

    /// What the server at `--url` speaks.
    enum Peer: String, ExpressibleByArgument, CaseIterable, Sendable {
        /// tailcast's `/ws`: the query string is the query; frames are envelopes.
        case tailcast
        /// websocketd running `websocketd-tail.sh`: the query string (`tag=TAG`) picks the grep pattern; one line per frame.
        case websocketd
        /// tailon 1.x's raw SockJS endpoint (`/ws/websocket`): the client sends a `tail` command for
        /// `--file`, or `grep` with the query as the regex; frames are JSON arrays of lines.
        case tailon
    }

    @Option(help: "WebSocket URL without query, e.g. ws://127.0.0.1:8080/ws") var url: String
    @Option(help: "The server: \(Peer.allCases.map(\.rawValue).joined(separator: ", ")).") var peer = Peer.tailcast
    @Option(help: "Query strings, one per client (cycled); TAG becomes the client's tag, e.g. q=TAG&F (for tailon: a grep regex)")
    var query: [String] = [""]
    @Option(help: "The file the server follows; repeat it for several writers (one process per file, each --lines at --rate).")
    var file: [String] = []
    @Option var lines = 1_000_000
    @Option(help: "Lines per second; 0 writes as fast as possible.") var rate = 0
    @Option(help: "At a rate: each writer writes the lines due at most every this many milliseconds (0: as soon as one is due).")
    var writeEveryMs = 0
    @Option var clients = 1
    @Option(help: "Clients that stop reading after connecting (counted among --clients).") var stalled = 0
    @Option(help: "Seconds a stalled client stops reading.") var stallSeconds = 20
    @Option(help: "Give up after this many seconds.") var timeout = 120
    @Option(help: "Distinct tags written round-robin in lines (TAG in --query).") var tags = 100
    @Option(
        help: "Milliseconds to wait after every client is connected before writing (servers that start a process per client need longer).")
    var settleMs = 300
    @Flag(
        inversion: .prefixedNo,
        help:
            "Start the writer; with --no-write the clients connect, print connected=N and receive until --timeout (for a client that another process stops with SIGSTOP)."
    ) var write = true
    @Option(help: "Server PID, to report its CPU time and peak RSS.") var serverPid: Int32 = 0
    @Option(help: "A label printed with the results.") var label = "tailcast"

    func validate() throws {
        guard clients >= 1, clients <= 20_000 else { throw ValidationError("--clients must be in 1...20000") }
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be in 1...3600 seconds") }
        guard (1...1000).contains(tags) else { throw ValidationError("--tags must be in 1...1000") }
        guard (1...64).contains(file.count) else { throw ValidationError("--file: give 1...64 files") }
    }

    func run() async throws {
        let report = LoadReport()
        let clientCount = clients
        let queries = query
        let url = self.url
        let peer = self.peer
        let files = file
        let path = URL(fileURLWithPath: files[0]).standardizedFileURL.path
        let stalledCount = stalled
        let stallNanos = UInt64(stallSeconds) * 1_000_000_000
        let deadline = MonotonicClock.nanos() + UInt64(timeout) * 1_000_000_000
        let tagCount = tags
        // What each client gets when every writer writes every line (they stop early only at --timeout).
        let planned = PlannedLines(perTag: LineWriter.perTag(written: lines, tags: tags).mapValues { $0 * files.count })
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let log = logger

        let cpuBefore = ProcStat.cpuSeconds(pid: serverPid)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<clientCount {
                let tag = String(format: "tag%03d", c % tagCount)
                let q = queries[c % queries.count].replacingOccurrences(of: "TAG", with: tag)
                // A client keeps only its tag's lines when its query names TAG (a query such as
                // `source=…` alone keeps every line).
                let keepsTag = queries[c % queries.count].contains("TAG")
                let full = q.isEmpty || peer == .tailon ? url : url + "?" + q
                let isStalled = c < stalledCount
                group.addTask {
                    var config = WebSocketClientConfiguration()
                    config.maxFrameSize = 1 << 24
                    _ = try? await WebSocketClient.connect(url: full, configuration: config, logger: log) { inbound, outbound, _ in
                        var stats = ClientStats()
                        defer {
                            report.add(stats, stalled: isStalled)
                            report.finished.add(1, ordering: .relaxed)
                        }
                        if peer == .tailon {
                            try await outbound.write(.text(Self.tailonCommand(path: path, regex: q)))
                        }
                        report.connected.add(1, ordering: .relaxed)
                        var iterator = inbound.makeAsyncIterator()
                        var stallUntil: UInt64 = 0
                        while let frame = try await iterator.next() {
                            let now = MonotonicClock.nanos()
                            if isStalled, stallUntil == 0, stats.lines > 0 || stats.frames > 1 {
                                stallUntil = now + stallNanos
                                try await Task.sleep(nanoseconds: stallNanos)
                            }
                            let counted = stats.lines + stats.dropped
                            stats.take(frame.data, now: MonotonicClock.nanos())
                            report.progress.add(stats.lines + stats.dropped - counted, ordering: .relaxed)
                            if Task.isCancelled { break }
                            if stats.lines + stats.dropped >= planned.expectedFor(tag: tag, pattern: keepsTag) { break }
                            if MonotonicClock.nanos() > deadline { break }
                        }
                    }
                }
            }
            // Wait until every client is connected, then write.
            while report.connected.load(ordering: .relaxed) < clientCount, MonotonicClock.nanos() < deadline {
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            try await Task.sleep(nanoseconds: UInt64(settleMs) * 1_000_000)
            guard write else {
                // Unbuffered: the process that stops this one waits for the line.
                FileHandle.standardOutput.write(Data("connected=\(report.connected.load(ordering: .relaxed))\n".utf8))
                while MonotonicClock.nanos() < deadline { try await Task.sleep(nanoseconds: 100_000_000) }
                group.cancelAll()
                return
            }
            let started = MonotonicClock.nanos()
            let remaining = Int((deadline - min(deadline, started)) / 1_000_000_000)
            let (lines, rate, everyMs) = (self.lines, self.rate, self.writeEveryMs)
            let written = try await withThrowingTaskGroup(of: Int.self) { writers in
                for f in files {
                    writers.addTask {
                        try await WriterProcess.run(
                            file: f, lines: lines, rate: rate, everyMs: everyMs, tags: tagCount, timeout: max(1, remaining))
                    }
                }
                return try await writers.reduce(0, +)
            }
            report.writeStarted = started
            report.writeEnded = MonotonicClock.nanos()
            report.written = written
            // Slow servers deliver long after the writer ends: wait until every client has its
            // lines, or nothing arrived for 3 s (after a stalled client's stall), or the deadline.
            let stallEnd = started + (stalledCount > 0 ? UInt64(stallSeconds + 2) * 1_000_000_000 : 0)
            var seen = report.progress.load(ordering: .relaxed)
            var lastChange = MonotonicClock.nanos()
            while report.finished.load(ordering: .relaxed) < clientCount, MonotonicClock.nanos() < deadline {
                try await Task.sleep(nanoseconds: 20_000_000)
                let now = MonotonicClock.nanos()
                let progress = report.progress.load(ordering: .relaxed)
                if progress != seen {
                    seen = progress
                    lastChange = now
                } else if now - lastChange > 3_000_000_000, now > stallEnd {
                    break
                }
            }
            group.cancelAll()
            try? await group.waitForAll()
        }
        guard write else { return }
        let cpu = ProcStat.cpuSeconds(pid: serverPid) - cpuBefore
        report.print(label: label, lines: report.written, rate: rate, serverCPU: cpu, serverPid: serverPid)
    }

    /// tailon's command to follow `path` from its end: `tail`, or `grep` with `regex`.
    static func tailonCommand(path: String, regex: String) -> String {
        let escapedPath = path.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        if regex.isEmpty { return #"{"command":"tail","path":""# + escapedPath + #"","tail-lines":0}"# }
        let escapedRegex = regex.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return #"{"command":"grep","path":""# + escapedPath + #"","tail-lines":0,"script":""# + escapedRegex + #""}"#
    }
}

/// What one client saw.
struct ClientStats: Sendable {
    var lines = 0
    var frames = 0
    var dropped = 0
    var firstNanos: UInt64 = 0
    var lastNanos: UInt64 = 0
    var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000_000, numberOfSignificantValueDigits: .three)

    private static let textMarker = Array(#""text":""#.utf8)
    private static let droppedMarker = Array(#""type":"dropped""#.utf8)
    private static let countMarker = Array(#""count":"#.utf8)
    private static let quote: [UInt8] = [UInt8(ascii: "\"")]

    mutating func take(_ buffer: ByteBuffer, now: UInt64) {
        frames += 1
        buffer.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            if bytes[0] == UInt8(ascii: "[") {
                // tailon: a JSON array of lines. Only whole lines count: a string of the writer's
                // 149 bytes and `\n` (tailon 1.4.3 splices lines cut across its pipe reads).
                var pos = 0
                while let q = Self.find(Self.quote, in: bytes, from: pos) {
                    let end = q + 1 + LineShape.bytes - 1
                    if end + 2 < bytes.count, bytes[q + 1] >= 0x30, bytes[q + 1] <= 0x39,
                        bytes[end] == UInt8(ascii: "\\"), bytes[end + 1] == UInt8(ascii: "n"), bytes[end + 2] == UInt8(ascii: "\"")
                    {
                        record(parseNanos(bytes, at: q + 1), now: now)
                        pos = end + 3
                    } else {
                        pos = q + 1
                    }
                }
                return
            }
            if bytes[0] != UInt8(ascii: "{") {
                // websocketd: one raw line per frame.
                record(parseNanos(bytes, at: 0), now: now)
                return
            }
            if Self.find(Self.droppedMarker, in: bytes, from: 0) != nil {
                if let c = Self.find(Self.countMarker, in: bytes, from: 0) {
                    dropped += Int(parseNumber(bytes, at: c + Self.countMarker.count))
                }
                return
            }
            var pos = 0
            while let hit = Self.find(Self.textMarker, in: bytes, from: pos) {
                let at = hit + Self.textMarker.count
                record(parseNanos(bytes, at: at), now: now)
                pos = at
            }
            _ = base
        }
    }

    private mutating func record(_ written: UInt64, now: UInt64) {
        guard written > 0 else { return }
        lines += 1
        if firstNanos == 0 { firstNanos = now }
        lastNanos = now
        _ = histogram.record(now > written ? (now - written) / 1000 : 0)
    }

    private func parseNanos(_ b: UnsafeRawBufferPointer, at: Int) -> UInt64 {
        parseNumber(b, at: at)
    }

    private func parseNumber(_ b: UnsafeRawBufferPointer, at: Int) -> UInt64 {
        var v: UInt64 = 0
        var i = at
        while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
            v = v &* 10 &+ UInt64(b[i] - 0x30)
            i += 1
        }
        return v
    }

    static func find(_ needle: [UInt8], in hay: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard from < hay.count, let base = hay.baseAddress else { return nil }
        return needle.withUnsafeBytes { n -> Int? in
            guard let p = tailcast_memmem(base + from, hay.count - from, n.baseAddress, n.count) else { return nil }
            return UnsafeRawPointer(p) - base
        }
    }
}

/// The lines each client expects: those of its tag, or all of them.
struct PlannedLines: Sendable {
    let perTag: [String: Int]
    let total: Int

    init(perTag: [String: Int]) {
        self.perTag = perTag
        total = perTag.values.reduce(0, +)
    }

    func expectedFor(tag: String, pattern: Bool) -> Int {
        pattern ? (perTag[tag] ?? 0) : total
    }
}

/// Collected results of every client.
final class LoadReport: @unchecked Sendable {
    // @unchecked: every mutable field is written under `lock`, or (writeStarted, writeEnded,
    // written) only by the main task, which reads them after the clients' task group has ended.
    private let lock = NSLock()
    private var normal: [ClientStats] = []
    private var stalledStats: [ClientStats] = []
    let connected = Atomic<Int>(0)
    let finished = Atomic<Int>(0)
    /// Lines (received or reported dropped) over all clients so far.
    let progress = Atomic<Int>(0)
    var writeStarted: UInt64 = 0
    var writeEnded: UInt64 = 0
    var written = 0

    func add(_ s: ClientStats, stalled: Bool) {
        lock.lock()
        if stalled { stalledStats.append(s) } else { normal.append(s) }
        lock.unlock()
    }

    func print(label: String, lines: Int, rate: Int, serverCPU: Double, serverPid: Int32) {
        lock.lock()
        defer { lock.unlock() }
        var merged = Histogram<UInt64>(highestTrackableValue: 600_000_000_000, numberOfSignificantValueDigits: .three)
        var received = 0
        var droppedNormal = 0
        var lastNanos: UInt64 = 0
        for s in normal {
            merged.add(s.histogram)
            received += s.lines
            droppedNormal += s.dropped
            lastNanos = max(lastNanos, s.lastNanos)
        }
        let seconds = Double(max(lastNanos, writeEnded) - writeStarted) / 1e9
        let perClient = normal.isEmpty ? 0 : Double(received) / Double(normal.count) / seconds
        let rss = ProcStat.peakRSSKiB(pid: serverPid)
        var out = "\(label): clients=\(normal.count + stalledStats.count) written=\(lines) rate=\(rate == 0 ? "max" : String(rate))"
        out += " received=\(received) dropped=\(droppedNormal) seconds=\(String(format: "%.2f", seconds))"
        out += " lines_per_s_per_client=\(Int(perClient))"
        out += " p50_ms=\(ms(merged.valueAtPercentile(50))) p99_ms=\(ms(merged.valueAtPercentile(99)))"
        out += " p999_ms=\(ms(merged.valueAtPercentile(99.9))) max_ms=\(ms(merged.max))"
        if serverPid > 0 {
            out += " server_cpu_s=\(String(format: "%.2f", serverCPU))"
            out += " cpu_s_per_M_lines=\(String(format: "%.2f", serverCPU / Double(max(1, lines)) * 1e6))"
            out += " peak_rss_mib=\(String(format: "%.1f", Double(rss) / 1024))"
        }
        // The clients' own CPU: near the cores left over, the client, not the server, is the limit.
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let clientCPU =
            Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        out += " client_cpu_s=\(String(format: "%.2f", clientCPU))"
        for (k, s) in stalledStats.enumerated() {
            out += "\n  stalled[\(k)]: received=\(s.lines) dropped_reported=\(s.dropped) complete=\(s.lines + s.dropped)"
        }
        Swift.print(out)
    }

    private func ms(_ micros: UInt64) -> String { String(format: "%.3f", Double(micros) / 1000) }
}

/// The server's CPU time and peak RSS from /proc.
enum ProcStat {
    static func cpuSeconds(pid: Int32) -> Double {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func peakRSSKiB(pid: Int32) -> Int {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
}
