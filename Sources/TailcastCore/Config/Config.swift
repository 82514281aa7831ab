/// What to do with a reader that the ring moved past.
public enum SlowConsumerPolicy: String, Sendable {
    /// Tell it what it lost (`dropped`) and carry on from the oldest held line.
    case drop
    /// Close it with 1013.
    case disconnect
}

/// The `[server]` table.
public struct ServerSettings: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var heartbeatMillis = 15_000
    public var writeTimeoutMillis = 30_000
    public var maxConnections = 1024
    /// Open WebSockets from one client address at most.
    public var maxConnectionsPerAddress = 256
    public var maxFrameBytes = 65_536
    public var slowConsumer = SlowConsumerPolicy.drop
    public var maxPatterns = 16
    public var maxPatternBytes = 4096
    /// Origins (`scheme://host[:port]`) allowed to open WebSockets besides the server's own;
    /// `"*"` allows any.
    public var allowedOrigins: [String] = []
    /// Path prefix of every route (`/logs`), for a reverse proxy that keeps its prefix; empty: none.
    public var basePath = ""
    /// A connection must send its complete request head (HTTP or WebSocket upgrade) within this.
    public var handshakeTimeoutMillis = 10_000
    /// Where file sources save their positions, so that a restart loses and repeats nothing.
    public var stateDir: String?
    /// Host names (besides loopback ones) that requests may name in `Host`; `"*"`: any.
    /// Checked always while listening on loopback only, elsewhere when set (DNS rebinding).
    public var allowedHosts: [String] = []
    /// Serve without `[auth]` on a non-loopback address, on purpose.
    public var allowAnonymous = false
    /// `compression`: negotiate permessage-deflate (RFC 7692) with WebSocket clients that offer it.
    public var compression = true

    public init() {}

    /// `true` when `host` (the listen address) reaches only this machine.
    public var listensOnLoopbackOnly: Bool { HostPolicy.isLoopback(host) }
}

/// The `[tls]` table: serve HTTPS and WSS.
public struct TLSSettings: Sendable, Equatable {
    /// PEM certificate chain.
    public var certificate: String
    /// PEM private key.
    public var key: String

    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }
}

/// The `[auth]` table.
public struct AuthSettings: Sendable, Equatable {
    /// The tokens file (see ``TokenTable``).
    public var tokensFile: String
    /// Whether `/metrics` needs a token too.
    public var protectMetrics = true

    public init(tokensFile: String) { self.tokensFile = tokensFile }
}

/// Per-source settings: `[defaults]`, each overridable in a `[[source]]`.
public struct SourceLimits: Sendable, Equatable {
    public var ringLines = 100_000
    public var ringBytes = 64 << 20
    public var initialLines = 1000
    public var maxLineBytes = 65_536
    public var rotateWaitMillis = 1000

    public init() {}
}

/// One `[[source]]`.
public struct SourceConfig: Sendable, Equatable {
    public var name: String
    public var kind: SourceKind
    public var path: String?
    public var limits: SourceLimits
    /// The line of its `[[source]]` header (0 for one from the command line).
    public var line: Int
    /// Journal sources: what to read.
    public var journal: JournalSourceSettings?

    public init(
        name: String, kind: SourceKind, path: String?, limits: SourceLimits, line: Int,
        journal: JournalSourceSettings? = nil
    ) {
        self.name = name
        self.kind = kind
        self.path = path
        self.limits = limits
        self.line = line
        self.journal = journal
    }

    /// `true` for 1 to 64 of `A-Z a-z 0-9 _ . -`.
    public static func isValidName(_ s: String) -> Bool {
        (1...64).contains(s.utf8.count)
            && s.utf8.allSatisfy { c in
                (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c)
                    || c == 0x5F || c == 0x2E || c == 0x2D
            }
    }
}

/// The whole configuration.
public struct Config: Sendable, Equatable {
    public var server = ServerSettings()
    public var defaults = SourceLimits()
    public var sources: [SourceConfig] = []
    public var auth: AuthSettings?
    public var tls: TLSSettings?
    /// `[cluster]`: this node joins the NATS JetStream bus; `nil`: a single node.
    public var cluster: ClusterSettings?

    public init() {}
}

extension Config {
    /// Why this config must not be served as it is, or `nil`: a non-loopback listen address
    /// without `[auth]` (anyone on the network could read every log) unless
    /// `[server] allow_anonymous = true` says so on purpose. An agent-only node
    /// (`[cluster] role = "agent"`) serves no logs (only `/healthz`, `/readyz` and `/metrics`),
    /// so it has no such problem.
    public var exposureProblem: String? {
        guard auth == nil, !server.allowAnonymous, !server.listensOnLoopbackOnly else { return nil }
        if let cluster, !cluster.role.serves { return nil }
        return "listening on \(server.host):\(server.port), which is not a loopback address, without [auth] would let "
            + "anyone who can reach it read every log. Add a token: `openssl rand -hex 32 > /etc/tailcast/tokens` and "
            + "`[auth]` with `tokens_file = \"/etc/tailcast/tokens\"` (clients send Authorization: Bearer TOKEN); "
            + "or, to serve without tokens on purpose, set `allow_anonymous = true` in [server]"
    }
}
