// libFuzzer target: a config file's text, through TOMLDocument.parse and ConfigParser.parse.
//
// Invariants beyond "no crash":
// - Every ConfigError carries a line from 0 (not on one line) to the input's line count
//   (lines are separated by "\n"); ConfigErrors is never empty; errors come sorted by line.
// - TOMLDocument keeps every key's line: each entry, table and array item of the tree is on a
//   line from 1 to the line count, and an entry with a bare key is on a line that holds it.
// - Line endings do not matter: the same text with "\r\n" line endings parses to the same
//   tree with the same lines (the parser reads CRLF as LF, in multi-line strings too).
// - An accepted Config holds only values inside the documented ranges.
import TailcastCore

private func byteLines(_ text: String) -> [ArraySlice<UInt8>] {
    Array(text.utf8).split(separator: 0x0A, omittingEmptySubsequences: false)
}

/// Every entry, table and array item of `table` is on a line of the text; a bare key's line
/// holds the key.
private func checkLines(_ table: TOMLTable, lines: [ArraySlice<UInt8>], path: String) {
    for e in table.entries {
        check((1...lines.count).contains(e.line), "key \(path)\(e.key) on line \(e.line) of \(lines.count)")
        if !e.key.isEmpty, e.key.utf8.allSatisfy(isBareKeyByte) {
            let key = Array(e.key.utf8)
            let text = Array(lines[e.line - 1])
            check(
                text.count >= key.count && (0...(text.count - key.count)).contains { text[$0..<$0 + key.count].elementsEqual(key) },
                "key \(path)\(e.key) said to be on line \(e.line), which is \(show(String(decoding: text, as: UTF8.self)))")
        }
        checkLines(e.value, lines: lines, path: path + e.key + ".")
    }
}

private func isBareKeyByte(_ c: UInt8) -> Bool {
    (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == 0x5F || c == 0x2D
}

private func checkLines(_ value: TOMLValue, lines: [ArraySlice<UInt8>], path: String) {
    switch value {
    case .table(let t):
        check((1...lines.count).contains(t.line), "table \(path) on line \(t.line) of \(lines.count)")
        checkLines(t, lines: lines, path: path)
    case .array(let a):
        for (item, line) in zip(a.items, a.lines) {
            check((1...lines.count).contains(line), "item of \(path) on line \(line) of \(lines.count)")
            checkLines(item, lines: lines, path: path + "[].")
        }
    default:
        break
    }
}

/// The tree with every line, as text; values as Swift prints them (a nan prints alike).
private func summary(_ table: TOMLTable) -> String {
    "{@\(table.line) " + table.entries.map { "\($0.key)@\($0.line)=" + summary($0.value) }.joined(separator: ", ") + "}"
}

private func summary(_ value: TOMLValue) -> String {
    switch value {
    case .table(let t): summary(t)
    case .array(let a): "[" + zip(a.items, a.lines).map { "@\($1) " + summary($0) }.joined(separator: ", ") + "]"
    default: "\(value)"
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func configFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    let lines = byteLines(text)
    let lineCount = lines.count

    let (doc, syntaxErrors) = TOMLDocument.parse(text)
    for e in syntaxErrors {
        check((0...lineCount).contains(e.line), "syntax error on line \(e.line) of \(lineCount): \(e.message)")
    }
    check(doc.root.line == 0, "root table not on line 0")
    checkLines(doc.root, lines: lines, path: "")

    // The same file with CRLF line endings (only for text that has no "\r" of its own).
    if !text.utf8.contains(0x0D) {
        let crlf = String(decoding: Array(text.utf8).flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }, as: UTF8.self)
        let (doc2, errors2) = TOMLDocument.parse(crlf)
        check(
            summary(doc.root) == summary(doc2.root),
            "CRLF line endings change the document: \(summary(doc.root)) vs \(summary(doc2.root)) for \(show(text))")
        check(
            syntaxErrors.map(\.line) == errors2.map(\.line),
            "CRLF line endings change the syntax errors: \(syntaxErrors.map(\.line)) vs \(errors2.map(\.line))")
    }

    do {
        let c = try ConfigParser.parse(text)
        check((0...65535).contains(c.server.port), "port \(c.server.port)")
        check(!c.server.host.isEmpty, "empty host")
        check((1...256).contains(c.server.maxPatterns), "max_patterns \(c.server.maxPatterns)")
        check((16...65_536).contains(c.server.maxPatternBytes), "max_pattern_bytes \(c.server.maxPatternBytes)")
        check((4096...(16 << 20)).contains(c.server.maxFrameBytes), "max_frame_bytes \(c.server.maxFrameBytes)")
        check(
            c.server.basePath.isEmpty || (c.server.basePath.hasPrefix("/") && !c.server.basePath.hasSuffix("/")),
            "base_path \(show(c.server.basePath))")
        if let d = c.server.stateDir { check(d.hasPrefix("/"), "state_dir \(show(d))") }
        if let a = c.auth { check(a.tokensFile.hasPrefix("/"), "tokens_file \(show(a.tokensFile))") }
        if let t = c.tls { check(t.certificate.hasPrefix("/") && t.key.hasPrefix("/"), "tls paths") }
        var names: Set<String> = []
        for s in c.sources {
            check(SourceConfig.isValidName(s.name), "source name \(show(s.name))")
            check(names.insert(s.name).inserted, "duplicate source \(s.name)")
            check((1...lineCount).contains(s.line), "source \(s.name) on line \(s.line) of \(lineCount)")
            check((256...(16 << 20)).contains(s.limits.maxLineBytes), "max_line_bytes \(s.limits.maxLineBytes)")
            check((1...100_000_000).contains(s.limits.ringLines), "ring_lines \(s.limits.ringLines)")
            if s.kind == .file { check(s.path != nil, "file source \(s.name) without a path") }
        }
    } catch {
        check(!error.errors.isEmpty, "ConfigErrors thrown with no error in it")
        var previous = 0
        for e in error.errors {
            check((0...lineCount).contains(e.line), "error on line \(e.line) of \(lineCount): \(e.message)")
            check(e.line >= previous, "errors not sorted by line")
            check(!e.message.isEmpty, "error without a message")
            previous = e.line
        }
    }
    return 0
}
