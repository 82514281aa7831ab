/// Converts byte offsets in valid UTF-8 text to UTF-16 code-unit offsets (JavaScript string
/// positions), walking the text once for all the sorted offsets of a line.
public enum UTF16Offsets {
    /// Converts sorted `spans` of byte offsets; `ascii` lines are returned unchanged.
    public static func convert(_ spans: [(Int, Int)], in text: UnsafeRawBufferPointer, ascii: Bool) -> [(Int, Int)] {
        if ascii { return spans }
        var result: [(Int, Int)] = []
        result.reserveCapacity(spans.count)
        var byte = 0
        var units = 0
        func advance(to target: Int) -> Int {
            while byte < target {
                let b = text[byte]
                if b & 0xC0 != 0x80 { units += b >= 0xF0 ? 2 : 1 }
                byte += 1
            }
            return units
        }
        for (s, e) in spans {
            let us = advance(to: s)
            let ue = advance(to: e)
            result.append((us, ue))
        }
        return result
    }
}
