import Logging
import NIOSSL
import Prometheus
import TailcastCore

#if canImport(Glibc)
import Glibc
#endif

/// Everything the routes and connections share: the config, the sources, the metrics.
///
/// Promises: built once at start and never changed (its parts carry their own state).
public struct ServerRuntime: Sendable {
    public let config: Config
    /// The sources served now (replaced on SIGHUP).
    public let sourceRegistry: SourceRegistry
    /// A snapshot of the sources served now.
    public var sources: [SourceHandle] { sourceRegistry.handles }
    public let metrics: PipelineMetrics
    public let registry: PrometheusCollectorRegistry
    public let hub: ConnectionHub
    /// Heartbeats and write deadlines of every WebSocket, on one timer.
    let watchdog = ConnectionWatchdog()
    public let writer = EnvelopeWriter()
    public let parser: QueryParser
    public let logger: Logger
    /// Positions saved by the previous run (with `state_dir`).
    public let savedPositions: [String: SavedPosition]
    public let journalPositions: [String: JournalPosition]
    /// The TLS context for new connections, when `[tls]` is configured (reloaded on SIGHUP).
    public let tls: CurrentTLSContext?
    /// The bearer tokens in force, when `[auth]` is configured (reloaded on SIGHUP).
    public let tokens: CurrentTokens?
    /// This node on the bus, with `[cluster]`.
    public let cluster: ClusterNode?

    public init(config: Config, logger: Logger, tokens: TokenTable? = nil, tls: NIOSSLContext? = nil) {
        self.tls = tls.map(CurrentTLSContext.init)
        self.config = config
        self.logger = logger
        self.tokens = tokens.map(CurrentTokens.init)
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        let metrics = PipelineMetrics(factory: PrometheusMetricsFactory(registry: registry))
        self.metrics = metrics
        let epoch = Self.newEpoch()
        // Checked against the files: a position whose file is gone or shorter starts a new epoch.
        let filePaths = Dictionary(
            config.sources.compactMap { s in s.kind == .file ? s.path.map { (s.name, $0) } : nil },
            uniquingKeysWith: { a, _ in a })
        let saved = config.server.stateDir.map { SavedPositions(directory: $0).load(checking: filePaths, logger: logger) } ?? [:]
        self.savedPositions = saved
        var journalSaved: [String: JournalPosition] = [:]
        if let dir = config.server.stateDir {
            for s in config.sources where s.kind == .journald {
                journalSaved[s.name] = JournalPosition.load(directory: dir, source: s.name) { path, reason in
                    logger.warning(
                        "ignoring saved journal position; the source starts a new epoch",
                        metadata: ["file": "\(path)", "source": "\(s.name)", "reason": "\(reason)"])
                }
            }
        }
        self.journalPositions = journalSaved
        self.sourceRegistry = SourceRegistry(
            config.sources.map { s in
                // A source with a saved position continues its epoch and numbering.
                let resume: (epoch: String, seq: UInt64)? =
                    s.kind == .file
                    ? saved[s.name].map { ($0.epoch, $0.nextSeq) }
                    : journalSaved[s.name].map { ($0.epoch, $0.nextSeq) }
                return SourceRegistry.Entry(
                    handle: Self.makeHandle(
                        s, epoch: resume?.epoch ?? epoch, firstSeq: resume?.seq ?? 1,
                        metrics: metrics, host: config.cluster?.host), config: s)
            })
        self.hub = ConnectionHub(limit: config.server.maxConnections, perAddressLimit: config.server.maxConnectionsPerAddress)
        let registryForBus = self.sourceRegistry
        let hub = self.hub
        self.cluster = config.cluster.map { settings in
            ClusterNode(
                settings: settings, registry: registryForBus, limits: config.defaults, metrics: metrics,
                busMetrics: BusMetrics(factory: PrometheusMetricsFactory(registry: registry)), hub: hub, logger: logger)
        }
        self.parser = QueryParser(maxPatterns: config.server.maxPatterns, maxPatternBytes: config.server.maxPatternBytes)
    }

    /// A local source's handle; on a bus (`host` set) its name on the wire is `HOST/NAME`.
    static func makeHandle(
        _ s: SourceConfig, epoch: String, firstSeq: UInt64, metrics: PipelineMetrics, host: String? = nil
    ) -> SourceHandle {
        SourceHandle(
            name: s.name, kind: s.kind, path: s.path ?? s.journal?.directory, epoch: epoch,
            ring: LineRing(maxLines: s.limits.ringLines, maxBytes: s.limits.ringBytes, firstSeq: firstSeq),
            metrics: metrics.forSource(host.map { "\($0)/\(s.name)" } ?? s.name), host: host)
    }

    /// The source called `name`, if configured.
    public func source(named name: String) -> SourceHandle? {
        sources.first { $0.name == name }
    }

    /// A new epoch: 8 characters from the clock and randomness, different on every start.
    static func newEpoch() -> String {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        var generator = SystemRandomNumberGenerator()
        var value = UInt64(Timestamp.now().microseconds) &* 6_364_136_223_846_793_005 ^ generator.next()
        var out = ""
        for _ in 0..<8 {
            out.append(alphabet[Int(value % 36)])
            value /= 36
        }
        return out
    }
}
