/// Finds the raw text of JSON values without decoding them, so that `--json` prints each line
/// object byte for byte as the server wrote it.
///
/// Promises: walks the bytes once, aware of strings and escapes; answers `nil` rather than
/// guessing when the input is not the expected shape.
enum RawJSON {
    /// The elements of the array that is the value of the top-level member `name`.
    static func arrayElements(named name: String, in bytes: [UInt8]) -> [ArraySlice<UInt8>]? {
        var i = skipSpace(bytes, 0)
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        let key = Array(name.utf8)
        while true {
            i = skipSpace(bytes, i)
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
            guard let keyEnd = stringEnd(bytes, i) else { return nil }
            let isKey = Array(bytes[(i + 1)..<(keyEnd - 1)]) == key
            i = skipSpace(bytes, keyEnd)
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
            i = skipSpace(bytes, i + 1)
            if isKey {
                return elements(bytes, i)
            }
            guard let end = valueEnd(bytes, i) else { return nil }
            i = skipSpace(bytes, end)
            guard i < bytes.count, bytes[i] == UInt8(ascii: ",") else { return nil }
            i += 1
        }
    }

    private static func elements(_ bytes: [UInt8], _ start: Int) -> [ArraySlice<UInt8>]? {
        guard start < bytes.count, bytes[start] == UInt8(ascii: "[") else { return nil }
        var out: [ArraySlice<UInt8>] = []
        var i = skipSpace(bytes, start + 1)
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { return out }
        while true {
            i = skipSpace(bytes, i)
            guard let end = valueEnd(bytes, i) else { return nil }
            out.append(bytes[i..<end])
            i = skipSpace(bytes, end)
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "]") { return out }
            guard bytes[i] == UInt8(ascii: ",") else { return nil }
            i += 1
        }
    }

    private static func skipSpace(_ bytes: [UInt8], _ start: Int) -> Int {
        var i = start
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        return i
    }

    /// The index after the string starting at `start` (a quote).
    private static func stringEnd(_ bytes: [UInt8], _ start: Int) -> Int? {
        var i = start + 1
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\\"): i += 2
            case UInt8(ascii: "\""): return i + 1
            default: i += 1
            }
        }
        return nil
    }

    /// The index after the value starting at `start`.
    private static func valueEnd(_ bytes: [UInt8], _ start: Int) -> Int? {
        guard start < bytes.count else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return stringEnd(bytes, start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var i = start
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    guard let e = stringEnd(bytes, i) else { return nil }
                    i = e
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default:
                    break
                }
                i += 1
            }
            return nil
        default:
            var i = start
            while i < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) {
                i += 1
            }
            return i > start ? i : nil
        }
    }
}
