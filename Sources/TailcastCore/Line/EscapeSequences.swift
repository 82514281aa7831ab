#if canImport(Glibc)
import Glibc
#endif

/// Terminal escape sequences in a line (ANSI colours and the like): what a filter must not see.
///
/// A line's text is kept as read, escapes included, for display; filters match the text with
/// every escape sequence removed, the same sequences the browser UI removes when it shows the
/// line (`Resources/ansi.js`), so what the user sees is what the filter sees. An escape
/// sequence starts at ESC (0x1B) and is, as ECMA-48 describes them:
/// - CSI: `ESC [`, parameter and intermediate bytes (0x20–0x3F), then one final byte
///   (0x40–0x7E). SGR colours (`ESC[31m`) and every other CSI (`ESC[K`, `ESC[2J`) alike;
/// - a string: `ESC ]` (OSC), `ESC P` (DCS), `ESC _` (APC), `ESC ^` (PM), up to BEL or `ESC \`;
/// - any other: `ESC`, intermediate bytes (0x20–0x2F), then one final byte (0x30–0x7E)
///   (`ESC c`, `ESC (B`).
///
/// A malformed or unterminated sequence ends where its form stops: the byte that does not fit
/// (a control character, a non-ASCII character) is not part of it, and one cut by the end of
/// the line runs to the end. A lone ESC is removed. Characters are never split: every byte a
/// sequence takes is ASCII, except inside a string, which runs to its terminator.
///
/// Promises: pure functions over valid UTF-8; one pass each; no allocation but the output.
public enum EscapeSequences {
    static let esc: UInt8 = 0x1B

    /// Whether `text` holds an ESC byte (a `memchr`, so plain lines cost one fast scan).
    @inlinable
    public static func contains(_ text: UnsafeRawBufferPointer) -> Bool {
        guard let base = text.baseAddress, !text.isEmpty else { return false }
        return memchr(base, 0x1B, text.count) != nil
    }

    /// Bytes of the escape sequence that starts with the ESC at `i`.
    static func length(at i: Int, in text: UnsafeRawBufferPointer) -> Int {
        let n = text.count
        var j = i + 1
        guard j < n else { return 1 }
        let kind = text[j]
        switch kind {
        case 0x5B:  // [ : CSI
            j += 1
            while j < n, text[j] >= 0x20, text[j] <= 0x3F { j += 1 }
            if j < n, text[j] >= 0x40, text[j] <= 0x7E { j += 1 }
        case 0x5D, 0x50, 0x5F, 0x5E:  // ] P _ ^ : a string up to BEL or ESC \ (or the end)
            j += 1
            while j < n, text[j] != 0x07, !(text[j] == esc && j + 1 < n && text[j + 1] == 0x5C) { j += 1 }
            if j < n { j += text[j] == 0x07 ? 1 : 2 }
        default:
            while j < n, text[j] >= 0x20, text[j] <= 0x2F { j += 1 }
            if j < n, text[j] >= 0x30, text[j] <= 0x7E { j += 1 }
        }
        return j - i
    }

    /// Appends `text` with every escape sequence removed.
    public static func strip(_ text: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        guard let base = text.baseAddress else { return }
        let n = text.count
        var i = 0
        while i < n {
            guard let hit = memchr(base + i, 0x1B, n - i) else {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[i..<n]))
                return
            }
            let at = UnsafeRawPointer(hit) - base
            if at > i { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[i..<at])) }
            i = at + length(at: at, in: text)
        }
    }

    /// Maps sorted, non-overlapping byte spans of the stripped text back to byte spans of `raw`.
    ///
    /// A span starts at its first character in `raw` (after any escape before it) and ends just
    /// after its last character (before any escape after it); escapes between its characters
    /// are inside it. An empty span maps to the raw position of its character.
    public static func rawSpans(_ spans: [(Int, Int)], in raw: UnsafeRawBufferPointer) -> [(Int, Int)] {
        guard !spans.isEmpty else { return [] }
        var out: [(Int, Int)] = []
        out.reserveCapacity(spans.count)
        var r = 0  // position in raw
        var s = 0  // the matching position in the stripped text
        let n = raw.count
        // Raw offset of stripped offset `target` as a start: skips escapes that stand at it.
        func start(_ target: Int) -> Int {
            while r < n {
                if raw[r] == esc {
                    r += length(at: r, in: raw)
                    continue
                }
                if s == target { break }
                r += 1
                s += 1
            }
            return r
        }
        // Raw offset just after stripped offset `target - 1`: stops before escapes that follow.
        func end(_ target: Int) -> Int {
            while s < target, r < n {
                if raw[r] == esc {
                    r += length(at: r, in: raw)
                    continue
                }
                r += 1
                s += 1
            }
            return r
        }
        for (a, b) in spans {
            let ra = start(a)
            let rb = b > a ? end(b) : ra
            out.append((ra, rb))
        }
        return out
    }
}
