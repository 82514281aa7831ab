// Shared by every fuzz target: an invariant check that libFuzzer records as a crash.

/// Stops the run with `message` when `condition` is false; libFuzzer saves the input as a
/// `crash-…` artifact (the trap is a deadly signal to it).
@inline(__always)
func check(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() {
        fatalError("fuzz invariant violated: \(message())", file: file, line: line)
    }
}

/// The fuzzer's bytes as an array (empty for a null pointer).
@inline(__always)
func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Short, printable rendering of a string for failure messages.
func show(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars.prefix(200) {
        out += u.isASCII && u.value >= 0x20 && u.value < 0x7F ? String(u) : "\\u{\(String(u.value, radix: 16))}"
    }
    return out + (s.unicodeScalars.count > 200 ? "…\"" : "\"")
}
