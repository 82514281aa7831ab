import ArgumentParser
import Foundation
import Histogram
import Logging
import NIOCore
import NIOPosix
import Synchronization
import WSClient
import CLinux
import TailcastCore

/// Writes timestamped lines to a file that a server follows, drives WebSocket clients against
/// it and measures delivery: lines/s, latency from write to receive, drops.
///
/// Counts lines without decoding envelopes: a tailcast `lines` frame is scanned for `"text":"`
/// markers; any other frame (websocketd's) is one raw line.
struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write lines to a file and measure their delivery to WebSocket clients.")

    @Option(help: "WebSocket URL without query, e.g. ws://127.0.0.1:8080/ws") var url: String
    @Option(help: "Query strings, one per client (cycled); TAG becomes the client's tag, e.g. q=TAG&F") var query: [String] = [""]
    @Option(help: "The file the server follows.") var file: String
    @Option var lines = 1_000_000
    @Option(help: "Lines per second; 0 writes as fast as possible.") var rate = 0
    @Option var clients = 1
    @Option(help: "Clients that stop reading after connecting (counted among --clients).") var stalled = 0
    @Option(help: "Seconds a stalled client stops reading.") var stallSeconds = 20
    @Option(help: "Give up after this many seconds.") var timeout = 120
    @Option(help: "Distinct tags written round-robin in lines (TAG in --query).") var tags = 100
    @Option(help: "Server PID, to report its CPU time and peak RSS.") var serverPid: Int32 = 0
    @Option(help: "A label printed with the results.") var label = "tailcast"

    func run() async throws {
        let report = LoadReport()
        let clientCount = clients
        let queries = query
        let url = self.url
        let stalledCount = stalled
        let stallNanos = UInt64(stallSeconds) * 1_000_000_000
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout) * 1_000_000_000
        let expected = lines
        let tagCount = tags
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let log = logger

        let cpuBefore = ProcStat.cpuSeconds(pid: serverPid)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<clientCount {
                let tag = String(format: "tag%03d", c % tagCount)
                let q = queries[c % queries.count].replacingOccurrences(of: "TAG", with: tag)
                let full = q.isEmpty ? url : url + "?" + q
                let isStalled = c < stalledCount
                group.addTask {
                    var config = WebSocketClientConfiguration()
                    config.maxFrameSize = 1 << 24
                    _ = try? await WebSocketClient.connect(url: full, configuration: config, logger: log) { inbound, _, _ in
                        var stats = ClientStats()
                        defer {
                            report.add(stats, stalled: isStalled)
                            report.finished.add(1, ordering: .relaxed)
                        }
                        report.connected.add(1, ordering: .relaxed)
                        var iterator = inbound.makeAsyncIterator()
                        var stallUntil: UInt64 = 0
                        while let frame = try await iterator.next() {
                            let now = DispatchTime.now().uptimeNanoseconds
                            if isStalled, stallUntil == 0, stats.lines > 0 || stats.frames > 1 {
                                stallUntil = now + stallNanos
                                try await Task.sleep(nanoseconds: stallNanos)
                            }
                            stats.take(frame.data, now: DispatchTime.now().uptimeNanoseconds)
                            if Task.isCancelled { break }
                            if report.writerDone.load(ordering: .relaxed), stats.lines + stats.dropped >= report.expectedFor(tag: tag, pattern: !q.isEmpty) { break }
                            if DispatchTime.now().uptimeNanoseconds > deadline { break }
                        }
                    }
                }
            }
            // Wait until every client is connected, then write.
            while report.connected.load(ordering: .relaxed) < clientCount, DispatchTime.now().uptimeNanoseconds < deadline {
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            try await Task.sleep(nanoseconds: 300_000_000)
            let writer = LineWriter(path: file, tags: tagCount)
            let started = DispatchTime.now().uptimeNanoseconds
            try await writer.write(lines: expected, rate: rate, deadline: deadline)
            report.writeStarted = started
            report.writeEnded = DispatchTime.now().uptimeNanoseconds
            report.perTag = writer.perTag
            report.writerDone.store(true, ordering: .relaxed)
            // The last matching line may arrive before the writer ends and nothing after it:
            // give the clients until every one is done, a grace period, or the deadline.
            let grace = DispatchTime.now().uptimeNanoseconds + UInt64(max(5, stallSeconds + 5)) * 1_000_000_000
            while report.finished.load(ordering: .relaxed) < clientCount,
                  DispatchTime.now().uptimeNanoseconds < min(grace, deadline) {
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            group.cancelAll()
            try? await group.waitForAll()
        }
        let cpu = ProcStat.cpuSeconds(pid: serverPid) - cpuBefore
        report.print(label: label, lines: expected, rate: rate, serverCPU: cpu, serverPid: serverPid)
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

    mutating func take(_ buffer: ByteBuffer, now: UInt64) {
        frames += 1
        buffer.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
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

/// Collected results of every client.
final class LoadReport: @unchecked Sendable {
    // @unchecked: every mutable field is written under `lock`, or (the write* and perTag fields)
    // by the single writer before `writerDone` is set with release ordering and read after.
    private let lock = NSLock()
    private var normal: [ClientStats] = []
    private var stalledStats: [ClientStats] = []
    let writerDone = Atomic<Bool>(false)
    let connected = Atomic<Int>(0)
    let finished = Atomic<Int>(0)
    var writeStarted: UInt64 = 0
    var writeEnded: UInt64 = 0
    var perTag: [String: Int] = [:]

    func add(_ s: ClientStats, stalled: Bool) {
        lock.lock()
        if stalled { stalledStats.append(s) } else { normal.append(s) }
        lock.unlock()
    }

    func expectedFor(tag: String, pattern: Bool) -> Int {
        pattern ? (perTag[tag] ?? 0) : perTag.values.reduce(0, +)
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
        for (k, s) in stalledStats.enumerated() {
            out += "\n  stalled[\(k)]: received=\(s.lines) dropped_reported=\(s.dropped) complete=\(s.lines + s.dropped)"
        }
        Swift.print(out)
    }

    private func ms(_ micros: UInt64) -> String { String(format: "%.3f", Double(micros) / 1000) }
}

/// Appends `NANOS SEQ tagNNN xxx…` lines of 150 bytes, at a rate or as fast as possible.
final class LineWriter: @unchecked Sendable {
    // @unchecked: used by one task at a time (the load command's writer), never shared.
    let fd: Int32
    let tags: Int
    private var perTagCounts: [Int]
    private static let tagPrefix: [UInt8] = Array(" tag".utf8)

    /// Lines written per tag (`tagNNN`).
    var perTag: [String: Int] {
        var out: [String: Int] = [:]
        for (i, n) in perTagCounts.enumerated() where n > 0 { out[String(format: "tag%03d", i)] = n }
        return out
    }

    init(path: String, tags: Int) {
        perTagCounts = [Int](repeating: 0, count: max(1, tags))
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        self.tags = tags
    }

    deinit { close(fd) }

    func write(lines: Int, rate: Int, deadline: UInt64) async throws {
        var seq = 0
        var buffer = [UInt8]()
        buffer.reserveCapacity(1 << 20)
        let start = DispatchTime.now().uptimeNanoseconds
        while seq < lines, DispatchTime.now().uptimeNanoseconds < deadline {
            let batch: Int
            if rate > 0 {
                let due = Int(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 * Double(rate))
                batch = min(lines - seq, max(0, due - seq))
                if batch == 0 {
                    try await Task.sleep(nanoseconds: 200_000)
                    continue
                }
            } else {
                batch = min(lines - seq, 2000)
            }
            buffer.removeAll(keepingCapacity: true)
            let now = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<batch {
                let tagIndex = seq % tags
                perTagCounts[tagIndex] += 1
                let start = buffer.count
                appendDecimal(UInt64(now), to: &buffer)
                buffer.append(0x20)
                appendDecimal(UInt64(seq), to: &buffer)
                buffer.append(contentsOf: Self.tagPrefix)
                buffer.append(UInt8(0x30 + tagIndex / 100 % 10))
                buffer.append(UInt8(0x30 + tagIndex / 10 % 10))
                buffer.append(UInt8(0x30 + tagIndex % 10))
                buffer.append(0x20)
                let pad = 149 - (buffer.count - start)
                if pad > 0 { buffer.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: pad)) }
                buffer.append(0x0A)
                seq += 1
            }
            buffer.withUnsafeBytes { b in
                var off = 0
                while off < b.count {
                    let n = Foundation.write(fd, b.baseAddress! + off, b.count - off)
                    if n <= 0 { break }
                    off += n
                }
            }
        }
    }
}

/// The server's CPU time and peak RSS from /proc.
enum ProcStat {
    static func cpuSeconds(pid: Int32) -> Double {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
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
