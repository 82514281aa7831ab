/// Client-supplied text made safe for a log line: control characters (newlines, ESC, DEL, C1)
/// and backslashes escaped, so a client can neither forge a log line nor colour a terminal,
/// and the result capped.
///
/// Promises: the output has no byte below 0x20 and no 0x7F; at most `limit` characters of the
/// input are kept, then `…(N more bytes)`.
enum LogText {
    static let defaultLimit = 512

    static func escaped(_ text: String, limit: Int = defaultLimit) -> String {
        var out = ""
        out.reserveCapacity(min(text.utf8.count, limit) + 16)
        var kept = 0
        for scalar in text.unicodeScalars {
            if kept >= limit {
                let rest = text.utf8.count - out.utf8.count
                out += "…(\(max(rest, 1)) more bytes)"
                return out
            }
            kept += 1
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\\": out += "\\\\"
            default:
                let v = scalar.value
                if v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) || v == 0x2028 || v == 0x2029 {
                    out += "\\u{" + String(v, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
