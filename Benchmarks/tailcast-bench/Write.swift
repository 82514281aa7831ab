import ArgumentParser
import Foundation
import TailcastCore

/// The writer process: appends timestamped lines to a file, at a rate or as fast as possible,
/// bounded by a count and a deadline. Prints `written=N` when it stops.
struct Write: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Append timestamped 150-byte lines (NANOS SEQ tagNNN xxx…) to a file.")

    @Option(help: "The file to append to (created if missing).") var file: String
    @Option(help: "Lines to write.") var lines = 1_000_000
    @Option(help: "Lines per second; 0 writes as fast as possible.") var rate = 0
    @Option(help: "Distinct tags written round-robin (tag000…).") var tags = 100
    @Option(help: "Stop after this many seconds even if not every line is written.") var timeout = 120
    @Option(help: "At a rate: write the lines due at most every this many milliseconds (0: as soon as one is due).")
    var everyMs = 0

    func validate() throws {
        guard lines >= 0, rate >= 0, timeout > 0 else { throw ValidationError("--lines and --rate must be ≥ 0 and --timeout > 0") }
        guard (1...1000).contains(tags) else { throw ValidationError("--tags must be in 1...1000") }
        guard (0...10_000).contains(everyMs) else { throw ValidationError("--every-ms must be in 0...10000") }
    }

    func run() throws {
        let writer = try LineWriter(path: file, tags: tags)
        let deadline = MonotonicClock.nanos() + UInt64(timeout) * 1_000_000_000
        let written = writer.write(lines: lines, rate: rate, everyNanos: UInt64(everyMs) * 1_000_000, deadline: deadline)
        print("written=\(written)")
    }
}

/// The writer's lines: `LineShape.bytes` bytes with their newline.
enum LineShape {
    static let bytes = 150
}

/// Appends `NANOS SEQ tagNNN xxx…` lines of 150 bytes (NANOS is ``MonotonicClock``), in batches:
/// at a rate, every line due is written in one `write(2)` (at most every `everyNanos` when that is
/// not 0); as fast as possible, 2 000 lines per call.
/// Line `seq` carries tag `seq % tags`.
final class LineWriter {
    let fd: Int32
    let tags: Int
    private static let tagPrefix: [UInt8] = Array(" tag".utf8)

    struct OpenError: Error, CustomStringConvertible {
        let path: String
        let errno: Int32
        var description: String { "cannot open \(path): \(String(cString: strerror(errno)))" }
    }

    init(path: String, tags: Int) throws {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw OpenError(path: path, errno: errno) }
        self.tags = tags
    }

    deinit { close(fd) }

    /// Lines of each tag among the first `written` lines.
    static func perTag(written: Int, tags: Int) -> [String: Int] {
        var out: [String: Int] = [:]
        for i in 0..<tags {
            let n = written / tags + (i < written % tags ? 1 : 0)
            if n > 0 { out[String(format: "tag%03d", i)] = n }
        }
        return out
    }

    /// Writes until `lines` are written or `deadline` (monotonic nanoseconds) passes; returns the count written.
    func write(lines: Int, rate: Int, everyNanos: UInt64 = 0, deadline: UInt64) -> Int {
        var seq = 0
        var buffer = [UInt8]()
        buffer.reserveCapacity(1 << 20)
        let start = MonotonicClock.nanos()
        var lastWrite: UInt64 = 0
        while seq < lines, MonotonicClock.nanos() < deadline {
            let batch: Int
            if rate > 0 {
                let due = Int(Double(MonotonicClock.nanos() - start) / 1e9 * Double(rate))
                batch = min(lines - seq, max(0, due - seq))
                if batch == 0 || (everyNanos > 0 && MonotonicClock.nanos() - lastWrite < everyNanos && due < lines) {
                    usleep(100)
                    continue
                }
            } else {
                batch = min(lines - seq, 2000)
            }
            buffer.removeAll(keepingCapacity: true)
            let now = MonotonicClock.nanos()
            lastWrite = now
            for _ in 0..<batch {
                let tagIndex = seq % tags
                let lineStart = buffer.count
                appendDecimal(now, to: &buffer)
                buffer.append(0x20)
                appendDecimal(UInt64(seq), to: &buffer)
                buffer.append(contentsOf: Self.tagPrefix)
                buffer.append(UInt8(0x30 + tagIndex / 100 % 10))
                buffer.append(UInt8(0x30 + tagIndex / 10 % 10))
                buffer.append(UInt8(0x30 + tagIndex % 10))
                buffer.append(0x20)
                let pad = LineShape.bytes - 1 - (buffer.count - lineStart)
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
        return seq
    }
}
