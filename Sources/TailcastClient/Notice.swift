/// Something `tailcast tail` tells the user on stderr (never on stdout, which carries only lines).
public enum Notice: Sendable, Equatable {
    /// The first failed attempt to reach a server; retrying for `retryFor`.
    case cannotConnect(reason: String, retryFor: Duration)
    /// An open connection ended; reconnecting with `since`.
    case connectionLost(reason: String)
    /// Connected again after a loss or a failed start.
    case reconnected
    /// The server would not resume from the saved positions; following from now.
    case resumeRefused(message: String)
    /// A `dropped` envelope.
    case dropped(ServerMessage.Dropped)
    /// An `event` envelope (rotated, truncated, missing, reopened, error, recovered).
    case event(source: String, event: String, detail: String)
    /// An `error` envelope that does not end the connection.
    case serverError(ServerError)

    /// The text, one line without the newline; `server` (`host:port`) is named when given.
    public func text(server: String?) -> String {
        let at = server.map { "\($0): " } ?? ""
        switch self {
        case .cannotConnect(let reason, let retryFor):
            return "tailcast tail: \(at)cannot connect (\(reason)); retrying for \(Self.seconds(retryFor))"
        case .connectionLost(let reason):
            return "tailcast tail: \(at)connection lost (\(reason)); reconnecting"
        case .reconnected:
            return "tailcast tail: \(at)connected; resuming where it stopped"
        case .resumeRefused(let message):
            return "tailcast tail: \(at)the server would not resume (\(message)); following from now, lines may be missing"
        case .dropped(let d):
            if d.reason == "restarted" {
                let epoch = d.epoch.map { " (epoch \($0))" } ?? ""
                let from = d.fromSeq.map { " from seq \($0)" } ?? ""
                return
                    "tailcast tail: \(at)\(d.source): the server restarted without saved state\(epoch); lines\(from) of the old numbering may be missing"
            }
            let count = d.count.map { "\($0) line\($0 == 1 ? "" : "s")" } ?? "lines"
            let range = (d.fromSeq != nil && d.toSeq != nil) ? " (seq \(d.fromSeq!)-\(d.toSeq!))" : ""
            let why: String
            switch d.reason {
            case "slow_consumer": why = "this client read too slowly"
            case "evicted": why = "no longer held by the server"
            case "paused": why = "dropped while paused"
            default: why = d.reason
            }
            return "tailcast tail: \(at)\(d.source): \(count) lost\(range): \(why)"
        case .event(let source, let event, let detail):
            return "tailcast tail: \(at)\(source): \(event)\(detail.isEmpty ? "" : ": \(detail)")"
        case .serverError(let e):
            return "tailcast tail: \(at)server error \(e.code)\(e.param.map { " (\($0))" } ?? ""): \(e.message)"
        }
    }

    static func seconds(_ d: Duration) -> String {
        let c = d.components
        let ms = c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000
        return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(Double(ms) / 1000)s"
    }
}
