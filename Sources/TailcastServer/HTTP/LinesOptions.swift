import Foundation
import TailcastCore

/// What `GET /api/lines` takes beyond the `/ws` query parameters: `follow` and `format`, plus
/// `Accept: text/event-stream` (SSE) and `Last-Event-ID` (a reconnecting `EventSource`'s
/// resume position, taken as `since`).
///
/// Promises: ``split(_:accept:lastEventID:)`` is pure; a bad `follow` or `format` is a
/// `bad_query` naming it; the parameters it hands on are the caller's, in order, without
/// `follow` and `format`, with `Last-Event-ID` last as `since` so that it wins over a `since`
/// in the URL (the last resume point of a source is the one used).
struct LinesOptions: Equatable {
    enum Format: String, Equatable {
        case ndjson, text, sse
    }

    var follow = false
    var format = Format.ndjson

    /// The longest `Last-Event-ID` taken (a position for many sources fits easily).
    static let maxLastEventIDBytes = 16 << 10

    static func split(
        _ parameters: [(String, String)], accept: String?,
        lastEventID: String?
    ) throws(QueryError) -> (LinesOptions, [(String, String)]) {
        var options = LinesOptions()
        var explicitFormat = false
        var rest: [(String, String)] = []
        for (name, value) in parameters {
            switch name {
            case "follow":
                switch value {
                case "", "1", "true": options.follow = true
                case "0", "false": options.follow = false
                default: throw QueryError(param: "follow", message: "flag follow takes no value, 1, true, 0 or false")
                }
            case "format":
                guard let f = Format(rawValue: value) else {
                    throw QueryError(
                        param: "format", message: "format takes ndjson, text or sse; got \(JSONString.quoted(String(value.prefix(64))))")
                }
                options.format = f
                explicitFormat = true
            default:
                rest.append((name, value))
            }
        }
        if !explicitFormat, let accept, accept.lowercased().contains("text/event-stream") {
            options.format = .sse
        }
        if let id = lastEventID?.trimmingCharacters(in: .whitespaces), !id.isEmpty {
            guard id.utf8.count <= maxLastEventIDBytes else {
                throw QueryError(param: "since", message: "Last-Event-ID is over \(maxLastEventIDBytes) bytes")
            }
            rest.append(("since", id))
        }
        return (options, rest)
    }
}
