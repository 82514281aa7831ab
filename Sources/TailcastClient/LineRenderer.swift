/// How lines are written to stdout.
public enum OutputStyle: Sendable, Equatable {
    /// `[SERVER:][SOURCE:]TEXT` like `grep` over several files (`-` instead of `:` for context
    /// lines). `color` adds grep's colours and highlights the matches; `escapeControls` shows
    /// control characters as `^X` so that a log line cannot drive the terminal.
    case text(color: Bool, escapeControls: Bool)
    /// One JSON line object per line (NDJSON), as inside the server's `lines` envelope.
    case json
}

/// Turns the lines of one server into the bytes printed on stdout.
///
/// Promises: one line in, one `\n`-terminated line out (plus a `--` line between groups that
/// are not adjacent when context is on); the text's bytes are kept as they are except, with
/// `escapeControls`, control characters; colours are only ever written with `color`; `--json`
/// writes the server's own JSON text for each line (adding `"server"` when several servers are
/// followed). Work per line is one pass over its text.
public struct LineRenderer: Sendable {
    public let style: OutputStyle
    /// `host:port` to prefix lines with (several servers), or `nil`.
    public let server: String?
    /// Print `SOURCE:` before each line (more than one source is selected, or several servers).
    public var showSource: Bool
    /// Print `--` between groups of lines that are not adjacent (context was asked for).
    public var groupSeparators: Bool
    private var last: (source: String, seq: UInt64)?

    public init(style: OutputStyle, server: String?, showSource: Bool, groupSeparators: Bool) {
        self.style = style
        self.server = server
        self.showSource = showSource
        self.groupSeparators = groupSeparators
    }

    enum SGR {
        static let server: [UInt8] = Array("\u{1B}[34m".utf8)
        static let source: [UInt8] = Array("\u{1B}[35m".utf8)
        static let separator: [UInt8] = Array("\u{1B}[36m".utf8)
        static let match: [UInt8] = Array("\u{1B}[1;31m".utf8)
        static let reset: [UInt8] = Array("\u{1B}[0m".utf8)
    }

    /// Appends the rendering of `lines` to `out`.
    public mutating func render(_ lines: some Sequence<LineRecord>, into out: inout [UInt8]) {
        switch style {
        case .json:
            for line in lines { appendJSON(line, into: &out) }
        case .text(let color, let escape):
            for line in lines { appendText(line, color: color, escape: escape, into: &out) }
        }
    }

    private func appendJSON(_ line: LineRecord, into out: inout [UInt8]) {
        let raw = line.raw
        guard let server, raw.first == UInt8(ascii: "{") else {
            out.append(contentsOf: raw)
            out.append(0x0A)
            return
        }
        out.append(UInt8(ascii: "{"))
        out.append(contentsOf: Array("\"server\":\"\(server)\"".utf8))
        if raw.count > 2 { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: raw.dropFirst())
        out.append(0x0A)
    }

    private mutating func appendText(_ line: LineRecord, color: Bool, escape: Bool, into out: inout [UInt8]) {
        if groupSeparators, let last, last.source == line.source, line.seq != last.seq + 1 {
            if color { out.append(contentsOf: SGR.separator) }
            out.append(contentsOf: [UInt8(ascii: "-"), UInt8(ascii: "-")])
            if color { out.append(contentsOf: SGR.reset) }
            out.append(0x0A)
        }
        last = (line.source, line.seq)
        let sep = line.isContext ? UInt8(ascii: "-") : UInt8(ascii: ":")
        if let server {
            prefix(server, color ? SGR.server : nil, sep, color: color, into: &out)
        }
        if showSource {
            prefix(line.source, color ? SGR.source : nil, sep, color: color, into: &out)
        }
        let spans = color ? (line.matches ?? []) : []
        if spans.isEmpty && !escape {
            out.append(contentsOf: line.text.utf8)
        } else {
            Self.appendHighlighted(line.text, spans: spans, escape: escape, into: &out)
        }
        out.append(0x0A)
    }

    private func prefix(_ text: String, _ sgr: [UInt8]?, _ sep: UInt8, color: Bool, into out: inout [UInt8]) {
        if let sgr { out.append(contentsOf: sgr) }
        out.append(contentsOf: text.utf8)
        if color {
            out.append(contentsOf: SGR.reset)
            out.append(contentsOf: SGR.separator)
        }
        out.append(sep)
        if color { out.append(contentsOf: SGR.reset) }
    }

    /// Writes `text` with the `[start, end)` UTF-16 spans highlighted, control characters
    /// escaped when `escape`. Spans out of order, overlapping or past the end are tolerated.
    static func appendHighlighted(_ text: String, spans: [[Int]], escape: Bool, into out: inout [UInt8]) {
        var k = 0
        var inMatch = false
        var u16 = 0
        for scalar in text.unicodeScalars {
            while k < spans.count, spans[k].count == 2, u16 >= spans[k][1] {
                if inMatch {
                    out.append(contentsOf: SGR.reset)
                    inMatch = false
                }
                k += 1
            }
            if !inMatch, k < spans.count, spans[k].count == 2, u16 >= spans[k][0], u16 < spans[k][1] {
                out.append(contentsOf: SGR.match)
                inMatch = true
            }
            appendScalar(scalar, escape: escape, into: &out)
            u16 += scalar.utf16.count
        }
        if inMatch { out.append(contentsOf: SGR.reset) }
    }

    private static func appendScalar(_ scalar: Unicode.Scalar, escape: Bool, into out: inout [UInt8]) {
        let v = scalar.value
        if escape {
            if v < 0x20 && v != 0x09 {
                out.append(UInt8(ascii: "^"))
                out.append(UInt8(v + 0x40))
                return
            }
            if v == 0x7F {
                out.append(contentsOf: [UInt8(ascii: "^"), UInt8(ascii: "?")])
                return
            }
            if (0x80...0x9F).contains(v) {
                out.append(contentsOf: Array("\\u00".utf8))
                let hex = Array("0123456789abcdef".utf8)
                out.append(hex[Int(v >> 4)])
                out.append(hex[Int(v & 0xF)])
                return
            }
        }
        out.append(contentsOf: UTF8.encode(scalar)!)
    }
}
