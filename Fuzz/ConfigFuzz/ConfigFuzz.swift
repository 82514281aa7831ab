// libFuzzer target: a config file's text, through TOMLDocument.parse and ConfigParser.parse.
//
// Invariants beyond "no crash":
// - Every ConfigError carries a line from 0 (not on one line) to the input's line count
//   (lines are separated by "\n"); ConfigErrors is never empty; errors come sorted by line.
// - TOMLDocument keeps every key's line: each table's line (counted in "\n"-separated lines of
//   the bytes) starts with `[`, each entry's line with the first part of its key.
// - Line endings do not matter: the same text with "\r\n" line endings parses to the same
//   tables and entries (the parser treats a trailing "\r" as the end of a line).
// - An accepted Config holds only values inside the documented ranges.
import TailcastCore

private func byteLines(_ text: String) -> [ArraySlice<UInt8>] {
    Array(text.utf8).split(separator: 0x0A, omittingEmptySubsequences: false)
}

private func startsAfterSpace(_ line: ArraySlice<UInt8>, with prefix: [UInt8]) -> Bool {
    let rest = line.drop { $0 == 0x20 || $0 == 0x09 }
    return rest.starts(with: prefix)
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
    check(doc.tables.first?.name == "" && doc.tables.first?.line == 0, "no top-level table first")
    for t in doc.tables.dropFirst() {
        check((1...lineCount).contains(t.line), "table [\(t.name)] on line \(t.line) of \(lineCount)")
        check(startsAfterSpace(lines[t.line - 1], with: [UInt8(ascii: "[")]),
              "table [\(t.name)] said to be on line \(t.line), which is \(show(String(decoding: lines[t.line - 1], as: UTF8.self)))")
    }
    for t in doc.tables {
        for e in t.entries {
            check((1...lineCount).contains(e.line), "key \(e.key) on line \(e.line) of \(lineCount)")
            let first = Array(e.key.split(separator: ".").first.map(String.init)?.utf8 ?? "".utf8)
            check(startsAfterSpace(lines[e.line - 1], with: first),
                  "key \(e.key) said to be on line \(e.line), which is \(show(String(decoding: lines[e.line - 1], as: UTF8.self)))")
        }
    }

    // The same file with CRLF line endings (only for text that has no "\r" of its own).
    if !text.utf8.contains(0x0D) {
        let crlf = String(decoding: Array(text.utf8).flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }, as: UTF8.self)
        let (doc2, errors2) = TOMLDocument.parse(crlf)
        let summary = { (d: TOMLDocument) in d.tables.map { t in "[\(t.name)]@\(t.line):" + t.entries.map { "\($0.key)@\($0.line)" }.joined(separator: ",") } }
        check(summary(doc) == summary(doc2),
              "CRLF line endings change the document: \(summary(doc)) vs \(summary(doc2)) for \(show(text))")
        check(syntaxErrors.map(\.line) == errors2.map(\.line),
              "CRLF line endings change the syntax errors: \(syntaxErrors.map(\.line)) vs \(errors2.map(\.line))")
    }

    do {
        let c = try ConfigParser.parse(text)
        check((0...65535).contains(c.server.port), "port \(c.server.port)")
        check(!c.server.host.isEmpty, "empty host")
        check((1...256).contains(c.server.maxPatterns), "max_patterns \(c.server.maxPatterns)")
        check((16...65_536).contains(c.server.maxPatternBytes), "max_pattern_bytes \(c.server.maxPatternBytes)")
        check((4096...(16 << 20)).contains(c.server.maxFrameBytes), "max_frame_bytes \(c.server.maxFrameBytes)")
        check(c.server.basePath.isEmpty || (c.server.basePath.hasPrefix("/") && !c.server.basePath.hasSuffix("/")),
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
