/// How the envelopes of one reader are laid out on the wire: a WebSocket text frame each, or
/// the records of an HTTP body (`GET /api/lines`).
///
/// Promises: every format is produced from the same pre-rendered line fragments and envelope
/// JSON, never by parsing JSON back; each payload is a whole record of its format (one JSON
/// object; whole NDJSON or text lines; one whole SSE event ending in a blank line).
public enum FrameFormat: Sendable, Equatable {
    /// One JSON envelope per payload (a WebSocket text frame), with frame-header headroom.
    case webSocket
    /// Newline-delimited JSON: each line object as inside a `lines` envelope, one per line of
    /// the body; other envelopes (`dropped`, `event`, `error`) as they are, one per line.
    case ndjson
    /// `SOURCE:TEXT` per line (`TEXT` alone when `sourcePrefix` is `false`), the raw line text;
    /// `dropped`, events and errors as lines beginning with `# `.
    case text(sourcePrefix: Bool)
    /// Server-Sent Events: `event: TYPE`, `data: ENVELOPE-JSON` and, for lines, drops and
    /// events, `id: SRC:SEQ:EPOCH,…` (the resume position), then a blank line.
    case sse

    /// `true` for ``text(sourcePrefix:)``.
    public var isText: Bool {
        if case .text = self { return true }
        return false
    }

    /// The HTTP `Content-Type` of a body in this format.
    public var contentType: String {
        switch self {
        case .webSocket, .ndjson: "application/x-ndjson"
        case .text: "text/plain; charset=utf-8"
        case .sse: "text/event-stream"
        }
    }

    /// An envelope of `type` whose JSON is `json`, as a record of this format.
    func record(type: String, json: String) -> String {
        switch self {
        case .webSocket: json
        case .ndjson: json + "\n"
        case .sse: "event: \(type)\ndata: \(json)\n\n"
        case .text: "# \(type) \(json)\n"
        }
    }

    /// A heartbeat in this format (`nil` for the WebSocket, which sends a `heartbeat` envelope).
    var heartbeatRecord: String? {
        switch self {
        case .webSocket: nil
        case .ndjson, .text: "\n"
        case .sse: ": heartbeat\n\n"
        }
    }

    /// Bytes before the first line of a `lines` payload.
    var linesOpen: [UInt8] {
        switch self {
        case .webSocket: Self.envelopeOpen
        case .sse: Array("event: lines\ndata: ".utf8) + Self.envelopeOpen
        case .ndjson, .text: []
        }
    }

    /// Bytes after the last line of a `lines` payload (after its last `,` is taken back).
    var linesClose: [UInt8]? {
        switch self {
        case .webSocket: Array("]}".utf8)
        case .sse: Array("]}\n\n".utf8)
        case .ndjson, .text: nil
        }
    }

    private static let envelopeOpen: [UInt8] = Array(#"{"type":"lines","lines":["#.utf8)
}
