/// Names on the bus: subjects, headers and message kinds, shared by agents and viewers.
///
/// A source's lines and events go to `tailcast.<host>.<source>` in the stream; heartbeats go
/// to `tailcast-heartbeat.<host>`, outside it. Host and source names may hold `.`, which NATS
/// uses between tokens, so `.` is written `%2E` (and `%` itself `%25`) inside a token.
public enum BusSubjects {
    /// What the stream holds.
    public static let streamFilter = "tailcast.>"
    /// Every agent's heartbeat.
    public static let heartbeatFilter = "tailcast-heartbeat.*"

    /// The subject of one source's messages.
    public static func source(host: String, name: String) -> String {
        "tailcast.\(token(host)).\(token(name))"
    }

    /// The subject of an agent's heartbeats.
    public static func heartbeat(host: String) -> String {
        "tailcast-heartbeat.\(token(host))"
    }

    /// `name` made into one subject token.
    static func token(_ name: String) -> String {
        guard name.utf8.contains(where: { $0 == 0x2E || $0 == 0x25 }) else { return name }
        var out = ""
        for c in name.unicodeScalars {
            switch c {
            case ".": out += "%2E"
            case "%": out += "%25"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Header names.
    public enum Header {
        /// `lines`, `event` or `dropped`.
        public static let kind = "Tailcast-Kind"
        public static let epoch = "Tailcast-Epoch"
        /// The first `seq` the message covers (lines, dropped) or the position of an event.
        public static let first = "Tailcast-First"
        /// One past the last `seq` the message covers.
        public static let next = "Tailcast-Next"
        /// The source's kind (`file`, `journald`).
        public static let sourceKind = "Tailcast-Source-Kind"
    }

    /// The kinds of message on a source's subject.
    public enum Kind: String, Sendable {
        /// A batch of lines (``BusBatch``).
        case lines
        /// A source event: the body is `{"event":KIND,"detail":TEXT}`.
        case event
        /// Lines `first..<next` that the agent lost before it could publish them.
        case dropped
    }
}
