/// Writes JSON string literals from valid UTF-8 bytes.
///
/// Promises: output is a valid JSON string body (no surrounding quotes unless asked);
/// copies runs of plain bytes at once and escapes only `"`, `\` and control bytes.
public enum JSONString {
    /// `true` for bytes that must be escaped inside a JSON string.
    @usableFromInline
    static let needsEscape: [Bool] = (0..<256).map { b in b < 0x20 || b == 0x22 || b == 0x5C }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends the escaped body of `bytes` (valid UTF-8) to `out`.
    public static func appendEscaped(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let n = bytes.count
        var runStart = 0
        var i = 0
        needsEscape.withUnsafeBufferPointer { table in
            while i < n {
                let b = bytes[i]
                if !table[Int(b)] {
                    i += 1
                    continue
                }
                if runStart < i {
                    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<i]))
                }
                switch b {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
                case 0x0D: out.append(contentsOf: [0x5C, 0x72])
                case 0x09: out.append(contentsOf: [0x5C, 0x74])
                default:
                    out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
                }
                i += 1
                runStart = i
            }
        }
        if runStart < n {
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<n]))
        }
    }

    /// Appends `"…"`, the quoted and escaped form of `string`.
    public static func appendQuoted(_ string: String, to out: inout [UInt8]) {
        out.append(0x22)
        var s = string
        s.withUTF8 { appendEscaped(UnsafeRawBufferPointer($0), to: &out) }
        out.append(0x22)
    }

    /// The quoted and escaped form of `string`.
    public static func quoted(_ string: String) -> String {
        var out: [UInt8] = []
        appendQuoted(string, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
