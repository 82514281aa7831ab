#if canImport(Glibc)
import Glibc
#endif

/// What a node on the bus does (`[cluster] role`).
public enum ClusterRole: String, Sendable, Equatable {
    /// Publishes its own sources; serves `/healthz`, `/readyz` and `/metrics` only.
    case agent
    /// Serves every host's sources read from the bus; needs no `[[source]]`.
    case viewer
    /// Both: publishes its own sources and serves every host's.
    case both

    /// Whether the node publishes its local sources.
    public var publishes: Bool { self != .viewer }
    /// Whether the node serves `/ws`, `/api/lines`, `/api/sources` and the UI.
    public var serves: Bool { self != .agent }
}

/// The `[cluster]` table: how this node joins the NATS JetStream bus (see the contract's
/// "Configuration of a node on the bus"). Its absence means a single node, exactly as before.
public struct ClusterSettings: Sendable, Equatable {
    /// Bus server URLs (`nats://HOST:PORT`, `tls://…`), one or more members of a NATS cluster.
    /// The parser writes a bare `HOST:PORT` as `nats://HOST:PORT`, so every item has a scheme.
    public var servers: [String]
    /// This node's host name on the wire: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    public var host: String
    /// What this node does; default ``ClusterRole/both``.
    public var role: ClusterRole = .both
    /// The JetStream stream, created when missing: 1 to 64 of `A-Z a-z 0-9 _ -`.
    public var stream = "TAILCAST"
    /// The stream's retention by age, in seconds (`max_age = "24h"`; 1 s to 36 500 days).
    public var maxAgeSeconds = 86_400
    /// The stream's retention by size, in bytes (at least 1 MiB).
    public var maxBytes: Int64 = 1 << 30
    /// Stream replicas (1 to 5).
    public var replicas = 1
    /// A silent agent's sources become `missing` after this (1 000 to 3 600 000 ms).
    public var agentTimeoutMillis = 10_000
    /// NATS user credentials file (`.creds`), when the bus needs one: an absolute path (the
    /// parser resolves a relative one against the config file's directory) that was readable
    /// when the config was read.
    public var credentials: String?
    /// CA certificate(s) (PEM) that verify the bus's TLS certificate; a path as for ``credentials``.
    public var tlsCA: String?
    /// The line of the `[cluster]` header (for messages).
    public var line = 0

    public init(servers: [String], host: String) {
        self.servers = servers
        self.host = host
    }

    /// `true` for a valid host name on the wire: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    public static func isValidHost(_ s: String) -> Bool { SourceConfig.isValidName(s) }

    /// The machine's host name as `gethostname(2)` gives it (unmapped; `""` when it fails).
    /// Pass it through ``defaultHost(_:)`` for the wire.
    public static func machineHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The machine's host name made valid for the wire (other characters become `-`, cut
    /// to 64 bytes); `"localhost"` when it has none.
    public static func defaultHost(_ machineName: String) -> String {
        let mapped = String(
            String.UnicodeScalarView(
                machineName.unicodeScalars.prefix(64).map { c in
                    c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "." || c == "_" || c == "-")
                        ? c : "-"
                }))
        return mapped.isEmpty ? "localhost" : mapped
    }
}
