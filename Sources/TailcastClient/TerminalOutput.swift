#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// stdout and stderr for `tailcast tail`: lines on stdout, everything else on stderr.
///
/// Promises: each call is written whole with `write(2)` (partial writes and `EINTR` retried)
/// under one lock, so lines of several servers never interleave within a line; a write blocks
/// while the reader of stdout does not read, which stops this client reading from the server
/// (the server then reports the loss exactly, as `dropped`); a reader that has gone (`EPIPE`,
/// e.g. `| head`) ends the process as `SIGPIPE` would end `grep`.
public final class TerminalOutput: Sendable {
    private let lock = Mutex(())

    public init() {}

    /// Whether stdout is a terminal.
    public static var stdoutIsTerminal: Bool { isatty(1) == 1 }

    public func out(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        lock.withLock { _ in Self.writeAll(1, bytes) }
    }

    /// One line on stderr (the newline is added).
    public func err(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        lock.withLock { _ in Self.writeAll(2, bytes) }
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
