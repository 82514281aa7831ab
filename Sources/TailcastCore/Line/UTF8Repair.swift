/// Validates UTF-8 and replaces every invalid sequence with U+FFFD, as WHATWG's decoder does.
///
/// Promises: the output is valid UTF-8; valid input is reported as such without copying;
/// runs in one pass over the bytes with an 8-byte ASCII fast path.
public enum UTF8Repair {
    /// What a scan found.
    public enum Verdict: Equatable, Sendable {
        case ascii
        case valid
        case invalid
    }

    /// Classifies `bytes` without copying them.
    public static func classify(_ bytes: UnsafeRawBufferPointer) -> Verdict {
        let n = bytes.count
        guard let base = bytes.baseAddress else { return .ascii }
        var i = 0
        while i + 8 <= n {
            if base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
            i += 8
        }
        while i < n, base.load(fromByteOffset: i, as: UInt8.self) < 0x80 { i += 1 }
        if i == n { return .ascii }
        var ok = true
        while i < bytes.count {
            let len = sequenceLength(bytes, at: i)
            if len == 0 {
                ok = false
                break
            }
            i += len
        }
        return ok ? .valid : .invalid
    }

    /// Appends `bytes` to `out`, each invalid sequence replaced by U+FFFD.
    public static func repair(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        var runStart = 0
        var i = 0
        let n = bytes.count
        while i < n {
            let len = sequenceLength(bytes, at: i)
            if len > 0 {
                i += len
            } else {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<i]))
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                i += max(1, maximalInvalidPrefix(bytes, at: i))
                runStart = i
            }
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<n]))
    }

    /// Length of the valid sequence at `i`, or 0 when the bytes there are not valid UTF-8.
    @inline(__always)
    static func sequenceLength(_ b: UnsafeRawBufferPointer, at i: Int) -> Int {
        let n = b.count
        let c0 = b[i]
        if c0 < 0x80 { return 1 }
        if c0 < 0xC2 { return 0 }
        if c0 < 0xE0 {
            return i + 1 < n && b[i + 1] & 0xC0 == 0x80 ? 2 : 0
        }
        if c0 < 0xF0 {
            guard i + 2 < n else { return 0 }
            let c1 = b[i + 1]
            let lo: UInt8 = c0 == 0xE0 ? 0xA0 : 0x80
            let hi: UInt8 = c0 == 0xED ? 0x9F : 0xBF
            guard c1 >= lo, c1 <= hi, b[i + 2] & 0xC0 == 0x80 else { return 0 }
            return 3
        }
        if c0 < 0xF5 {
            guard i + 3 < n else { return 0 }
            let c1 = b[i + 1]
            let lo: UInt8 = c0 == 0xF0 ? 0x90 : 0x80
            let hi: UInt8 = c0 == 0xF4 ? 0x8F : 0xBF
            guard c1 >= lo, c1 <= hi, b[i + 2] & 0xC0 == 0x80, b[i + 3] & 0xC0 == 0x80 else { return 0 }
            return 4
        }
        return 0
    }

    /// Bytes that one U+FFFD replaces: the longest prefix of a valid sequence that starts at `i`
    /// (the "maximal subpart" rule of Unicode §3.9), at least 1.
    static func maximalInvalidPrefix(_ b: UnsafeRawBufferPointer, at i: Int) -> Int {
        let n = b.count
        let c0 = b[i]
        var need = 0
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        switch c0 {
        case 0xC2...0xDF: need = 1
        case 0xE0:
            need = 2
            lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED:
            need = 2
            hi = 0x9F
        case 0xF0:
            need = 3
            lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4:
            need = 3
            hi = 0x8F
        default: return 1
        }
        var j = i + 1
        var taken = 0
        while taken < need, j < n {
            let c = b[j]
            if taken == 0 {
                if c < lo || c > hi { break }
            } else if c & 0xC0 != 0x80 {
                break
            }
            j += 1
            taken += 1
        }
        return j - i
    }
}
