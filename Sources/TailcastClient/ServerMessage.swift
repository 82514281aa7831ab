import Foundation

/// One envelope from the server, decoded (see the wire contract's "Envelopes").
///
/// Promises: unknown envelope types and unknown fields are ignored (a newer server keeps
/// working with this client); a `lines` envelope keeps each line object's raw JSON text for
/// `--json`, exactly as the server wrote it.
public enum ServerMessage: Sendable, Equatable {
    case hello(Hello)
    case lines([LineRecord])
    case dropped(Dropped)
    case event(source: String, event: String, detail: String)
    case heartbeat
    case error(ServerError)
    case other(type: String)

    public struct Hello: Sendable, Equatable {
        public var sources: [String]
        public var epochs: [String: String]
        public var seqs: [String: UInt64]
        public var heartbeatMillis: Int?
    }

    public struct Dropped: Sendable, Equatable {
        public var source: String
        public var reason: String
        public var count: UInt64?
        public var fromSeq: UInt64?
        public var toSeq: UInt64?
        public var epoch: String?
    }

    /// Decodes one text frame; throws when it is not an envelope.
    public static func decode(_ bytes: [UInt8]) throws -> ServerMessage {
        let data = Data(bytes)
        let head = try JSONDecoder().decode(Head.self, from: data)
        switch head.type {
        case "lines":
            let body = try JSONDecoder().decode(LinesBody.self, from: data)
            let raw = RawJSON.arrayElements(named: "lines", in: bytes) ?? []
            var lines = body.lines
            if raw.count == lines.count {
                for i in lines.indices { lines[i].raw = raw[i] }
            }
            return .lines(lines)
        case "hello":
            let h = try JSONDecoder().decode(HelloBody.self, from: data)
            return .hello(Hello(sources: h.sources, epochs: h.epochs ?? [:], seqs: h.seqs ?? [:], heartbeatMillis: h.heartbeat_ms))
        case "dropped":
            let d = try JSONDecoder().decode(DroppedBody.self, from: data)
            return .dropped(
                Dropped(source: d.source, reason: d.reason, count: d.count, fromSeq: d.from_seq, toSeq: d.to_seq, epoch: d.epoch))
        case "event":
            let e = try JSONDecoder().decode(EventBody.self, from: data)
            return .event(source: e.source, event: e.event, detail: e.detail ?? "")
        case "heartbeat":
            return .heartbeat
        case "error":
            let e = try JSONDecoder().decode(ErrorBody.self, from: data)
            return .error(ServerError(code: e.code, param: e.param, message: e.message ?? e.code))
        default:
            return .other(type: head.type)
        }
    }

    private struct Head: Decodable { let type: String }
    private struct LinesBody: Decodable { let lines: [LineRecord] }
    private struct HelloBody: Decodable {
        let sources: [String]
        let epochs: [String: String]?
        let seqs: [String: UInt64]?
        let heartbeat_ms: Int?
    }
    private struct DroppedBody: Decodable {
        let source: String
        let reason: String
        let count: UInt64?
        let from_seq: UInt64?
        let to_seq: UInt64?
        let epoch: String?
    }
    private struct EventBody: Decodable {
        let source: String
        let event: String
        let detail: String?
    }
    private struct ErrorBody: Decodable {
        let code: String
        let param: String?
        let message: String?
    }
}
