/// Decodes a URL query string as browsers and HTTP libraries encode it
/// (`application/x-www-form-urlencoded`): `&`-separated `name=value` pairs, `+` is a space,
/// `%XX` is a byte. A literal `+` in a pattern is sent as `%2B`.
///
/// Promises: keeps the parameters in order, repeated names included; a name without `=` has
/// the empty value (so `?i` turns a flag on); malformed `%` escapes are kept as they are.
public enum QueryString {
    /// Splits on the bytes `&` and `=`, not on Characters: `&` followed by a combining mark is
    /// one Character to Swift, but still a separator.
    public static func parse(_ raw: String) -> [(String, String)] {
        Array(raw.utf8).split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true).map { pair in
            if let eq = pair.firstIndex(of: UInt8(ascii: "=")) {
                return (decode(pair[..<eq]), decode(pair[(eq + 1)...]))
            }
            return (decode(pair), "")
        }
    }

    static func decode(_ s: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        let bytes = Array(s)
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "+") {
                out.append(0x20)
            } else if c == UInt8(ascii: "%"), i + 2 <= bytes.count - 1, let hi = hex(bytes[i + 1]), let lo = hex(bytes[i + 2]) {
                out.append(hi << 4 | lo)
                i += 2
            } else {
                out.append(c)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
}
