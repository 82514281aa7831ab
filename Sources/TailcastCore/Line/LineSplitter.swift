#if canImport(Glibc)
import Glibc
#endif

/// Splits a byte stream into lines on `\n`, dropping a `\r` before it.
///
/// Promises: a partial last line is held until its newline arrives (or ``flush(_:)``);
/// memory is bounded: a line longer than `maxLineBytes` is handed out at once, flagged
/// truncated, and the rest of it up to the next newline is discarded.
public struct LineSplitter: Sendable {
    private var carry: [UInt8] = []
    private var discarding = false
    private let limit: Int

    /// - Parameter maxLineBytes: the line bound; a few bytes more are kept so that the cut,
    ///   made after UTF-8 repair, can fall on a character boundary.
    public init(maxLineBytes: Int) {
        self.limit = max(16, maxLineBytes) + 4
    }

    /// `true` when a partial line is held.
    public var hasPartialLine: Bool { !carry.isEmpty }
    /// Bytes read but not yet handed out as a line (`nil` while discarding the rest of a cut line).
    public var heldBytes: Int? { discarding ? nil : carry.count }

    /// Drops any held partial line and discard state (after a truncation, say).
    public mutating func reset() {
        carry.removeAll(keepingCapacity: false)
        discarding = false
    }

    /// Feeds `chunk`; calls `emit(line, truncated)` for every line it completes.
    public mutating func split(
        _ chunk: UnsafeRawBufferPointer,
        _ emit: (UnsafeRawBufferPointer, Bool) -> Void
    ) {
        guard let base = chunk.baseAddress else { return }
        let n = chunk.count
        var pos = 0
        while pos < n {
            let found = memchr(base + pos, 0x0A, n - pos)
            guard let nl = found else {
                let rest = UnsafeRawBufferPointer(rebasing: chunk[pos..<n])
                if !discarding {
                    carry.append(contentsOf: rest)
                    if carry.count > limit {
                        carry.withUnsafeBytes { emit(UnsafeRawBufferPointer(rebasing: $0[0..<limit]), true) }
                        carry.removeAll(keepingCapacity: false)
                        discarding = true
                    }
                }
                return
            }
            let end = UnsafeRawPointer(nl) - base
            defer { pos = end + 1 }
            if discarding {
                discarding = false
                continue
            }
            if carry.isEmpty {
                emitLine(UnsafeRawBufferPointer(rebasing: chunk[pos..<end]), emit)
            } else {
                carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[pos..<end]))
                carry.withUnsafeBytes { emitLine($0, emit) }
                carry.removeAll(keepingCapacity: carry.count <= 4096)
            }
        }
    }

    /// Hands out a held partial line as a line (the file it came from is closed for good).
    public mutating func flush(_ emit: (UnsafeRawBufferPointer, Bool) -> Void) {
        if !carry.isEmpty {
            carry.withUnsafeBytes { emitLine($0, emit) }
        }
        reset()
    }

    @inline(__always)
    private func emitLine(_ line: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer, Bool) -> Void) {
        var len = line.count
        if len > 0, line[len - 1] == 0x0D { len -= 1 }
        if len > limit {
            emit(UnsafeRawBufferPointer(rebasing: line[0..<limit]), true)
        } else {
            emit(UnsafeRawBufferPointer(rebasing: line[0..<len]), false)
        }
    }
}
