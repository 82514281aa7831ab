import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import TailcastCore

/// Builds the whole server from a config: routes, WebSocket endpoint, sources and the
/// shutdown order (WebSockets get 1001 first, then HTTP quiesces, then sources stop).
public struct TailcastServer: Sendable {
    public let runtime: ServerRuntime

    public init(config: Config, logger: Logger, tokens: TokenTable? = nil) throws(ConfigErrors) {
        var tls: NIOSSLContext?
        if let settings = config.tls { tls = try TLSMaterial.load(settings) }
        runtime = ServerRuntime(config: config, logger: logger, tokens: tokens, tls: tls)
    }

    /// TLS 1.2 at least; on TLS 1.2 only forward-secret (ECDHE) AEAD suites. TLS 1.3's suites
    /// are all forward-secret AEAD already.
    static func hardened(_ base: TLSConfiguration) -> TLSConfiguration {
        var c = base
        c.minimumTLSVersion = .tlsv12
        c.cipherSuites = [
            "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
        ].joined(separator: ":")
        return c
    }

    /// The HTTP and WebSocket application.
    public func application(
        supervisor: SourceSupervisor,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let runtime = self.runtime
        let router = Router(context: TailcastRequestContext.self)
        let basePath = runtime.config.server.basePath
        let hosts = HostPolicy(runtime.config.server)
        // Before every route (and the 404 responder): requests naming a foreign Host get 421.
        router.add(middleware: HostMiddleware(hosts: hosts))
        // Everything under base_path (for a reverse proxy that keeps its prefix); health checks
        // also at the root, where a proxy or orchestrator looks for them.
        let routes = router.group(RouterPath(basePath.isEmpty ? "" : basePath))
        HealthRoutes.add(to: routes, runtime: runtime)
        if !basePath.isEmpty {
            HealthRoutes.add(to: router.group(""), runtime: runtime)
        }
        // Authorization by route: the token check sits on the groups whose routes need it, so
        // whatever spelling of the path the router accepts, the same check runs.
        let api = routes.group("api")
        let metrics = routes.group("metrics")
        if let tokens = runtime.tokens {
            // `token=` in the URL too, for EventSource, which cannot set headers (as on /ws).
            api.add(middleware: TokenMiddleware(tokens: tokens, acceptsQueryToken: true))
            if runtime.config.auth?.protectMetrics ?? true {
                metrics.add(middleware: TokenMiddleware(tokens: tokens))
            }
        }
        // An agent-only node serves its health and metrics; its logs are read through viewers.
        let servesLogs = runtime.config.cluster?.role.serves ?? true
        if servesLogs {
            SourceRoutes.add(to: api, runtime: runtime)
            LinesRoute.add(to: api, runtime: runtime)
        }
        MetricsRoute.add(to: metrics, runtime: runtime)
        if servesLogs { UIRoutes.add(to: routes, basePath: basePath) }

        let server = runtime.config.server
        let http1 = HTTP1Channel.Configuration(idleTimeout: .milliseconds(Int64(server.handshakeTimeoutMillis) * 6))
        let endpoint = WebSocketEndpoint(runtime: runtime, hosts: hosts)
        let handshakeTimeout = TimeAmount.milliseconds(Int64(server.handshakeTimeoutMillis))
        let tls = runtime.tls
        let serverBuilder = HTTPServerBuilder { responder -> any ServerChildChannel in
            guard servesLogs else {
                // An agent-only node speaks plain HTTP: an upgrade to /ws is a 404 like any
                // unknown path (a refused upgrade would be a 400).
                let plain = GuardedChildChannel(
                    base: HTTP1Channel(responder: responder, configuration: http1),
                    timeout: handshakeTimeout, maxHeadBytes: 32 << 10, hosts: hosts,
                    onReject: { runtime.metrics.handshakesRejected.increment() })
                if let tls { return ReloadableTLSChannel(base: plain, context: tls) }
                return plain
            }
            let guarded = GuardedChildChannel(
                base: WebSocketChildChannel(responder: responder, endpoint: endpoint, http1: http1),
                timeout: handshakeTimeout, maxHeadBytes: 32 << 10, hosts: hosts,
                onReject: { runtime.metrics.handshakesRejected.increment() })
            if let tls { return ReloadableTLSChannel(base: guarded, context: tls) }
            return guarded
        }
        return Application(
            router: router,
            server: serverBuilder,
            // A backlog for as many connections as may be open, so a crowd connecting at once (a
            // dashboard wall reloading, viewers after a restart) is not dropped and retried.
            configuration: .init(
                address: .hostname(server.host, port: server.port), serverName: "tailcast",
                backlog: min(4096, max(256, server.maxConnections))),
            services: [
                supervisor,
                ConnectionWatchdogService(
                    watchdog: runtime.watchdog, settings: server,
                    metrics: runtime.metrics, logger: runtime.logger),
            ],
            onServerRunning: onServerRunning,
            logger: runtime.logger
        )
    }

    /// The service group that runs everything until SIGTERM or SIGINT, then shuts down in order.
    /// - Parameter reload: reads the config again on SIGHUP (its sources are applied); the tokens
    ///   file and the TLS certificate are read again on SIGHUP whether or not there is one.
    public func serviceGroup(
        reload: (@Sendable () throws -> Config)? = nil,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) throws(SourceError) -> ServiceGroup {
        let supervisor = try SourceSupervisor(runtime: runtime)
        try supervisor.start()
        let app = application(supervisor: supervisor, onServerRunning: onServerRunning)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: app)]
        if reload != nil || runtime.tokens != nil || runtime.tls != nil {
            services.append(.init(service: ConfigReloader(runtime: runtime, supervisor: supervisor, load: reload)))
        }
        services.append(.init(service: GoingAway(hub: runtime.hub, logger: runtime.logger)))
        if let node = runtime.cluster { services.append(.init(service: ClusterService(node: node))) }
        var configuration = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: runtime.logger)
        // A backstop: shutdown never hangs on a peer, whatever it does.
        configuration.maximumGracefulShutdownDuration = .seconds(15)
        return ServiceGroup(configuration: configuration)
    }
}
