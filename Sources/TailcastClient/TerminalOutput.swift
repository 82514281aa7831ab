import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// stdout and stderr for `tailcast tail`: lines on stdout, everything else on stderr.
///
/// Promises: the writes happen on one thread of its own, in the order they were handed over,
/// each chunk whole (partial writes and `EINTR` retried), so lines of several servers never
/// interleave within a line and no task of the cooperative pool ever blocks on a terminal;
/// at most `limit` bytes wait for stdout: `out` suspends beyond it, which stops the
/// connection reading from the server (the server then reports the loss exactly, as
/// `dropped`); a reader that has gone (`EPIPE`, e.g. `| head`) ends the process as `SIGPIPE`
/// would end `grep`.
public final class TerminalOutput: Sendable {
    private struct State {
        var chunks: [(fd: Int32, bytes: [UInt8])] = []
        var queuedBytes = 0
        /// Callers of `out` waiting for room, and of `drain` waiting for the end.
        var waiting: [CheckedContinuation<Void, Never>] = []
        var started = false
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let limit: Int

    public init(limit: Int = 1 << 20) {
        self.limit = limit
    }

    /// Whether stdout is a terminal.
    public static var stdoutIsTerminal: Bool { isatty(1) == 1 }

    /// Queues `bytes` for stdout; suspends while more than `limit` bytes are waiting.
    public func out(_ bytes: [UInt8]) async {
        guard !bytes.isEmpty else { return }
        enqueue(1, bytes)
        while state.withLock({ $0.queuedBytes > limit }) {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.queuedBytes <= limit { return true }
                    s.waiting.append(c)
                    return false
                }
                if resumeNow { c.resume() }
            }
        }
    }

    /// Queues one line for stderr (the newline is added); never suspends (notices are few).
    public func err(_ line: String) {
        enqueue(2, Array((line + "\n").utf8))
    }

    /// Returns once everything queued so far has been written.
    public func drain() async {
        while state.withLock({ !$0.chunks.isEmpty || $0.queuedBytes > 0 }) {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.chunks.isEmpty && s.queuedBytes == 0 { return true }
                    s.waiting.append(c)
                    return false
                }
                if resumeNow { c.resume() }
            }
        }
    }

    private func enqueue(_ fd: Int32, _ bytes: [UInt8]) {
        let start = state.withLock { s -> Bool in
            s.chunks.append((fd, bytes))
            s.queuedBytes += bytes.count
            defer { s.started = true }
            return !s.started
        }
        if start {
            let thread = Thread { [self] in self.writeLoop() }
            thread.name = "tailcast-tail-output"
            thread.start()
        }
        wake.signal()
    }

    /// The writer thread: takes what is queued, writes it, wakes the waiting callers.
    private func writeLoop() {
        while true {
            wake.wait()
            while true {
                let batch = state.withLock { s -> [(fd: Int32, bytes: [UInt8])] in
                    defer { s.chunks.removeAll(keepingCapacity: true) }
                    return s.chunks
                }
                if batch.isEmpty { break }
                for chunk in batch { Self.writeAll(chunk.fd, chunk.bytes) }
                let written = batch.reduce(0) { $0 + $1.bytes.count }
                let resume = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                    s.queuedBytes -= written
                    guard s.queuedBytes <= limit else { return [] }
                    defer { s.waiting.removeAll() }
                    return s.waiting
                }
                for c in resume { c.resume() }
            }
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 {
                    offset += n
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == EPIPE {
                    // NIO ignores SIGPIPE for its sockets; a closed stdout ends us as it ends grep.
                    signal(SIGPIPE, SIG_DFL)
                    raise(SIGPIPE)
                    _exit(141)
                }
                return
            }
        }
    }
}
