import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle
import TailcastCore

/// Builds the whole server from a config: routes, WebSocket endpoint, sources and the
/// shutdown order (WebSockets get 1001 first, then HTTP quiesces, then sources stop).
public struct TailcastServer: Sendable {
    public let runtime: ServerRuntime

    public init(config: Config, logger: Logger) {
        runtime = ServerRuntime(config: config, logger: logger)
    }

    /// The HTTP and WebSocket application.
    public func application(
        supervisor: SourceSupervisor,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let runtime = self.runtime
        let router = Router(context: TailcastRequestContext.self)
        HealthRoutes.add(to: router, runtime: runtime)
        SourceRoutes.add(to: router, runtime: runtime)
        MetricsRoute.add(to: router, runtime: runtime)
        UIRoutes.add(to: router)

        let wsRouter = Router(context: TailcastRequestContext.self)
        wsRouter.ws("/ws") { _, _ in
            .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let parameters = QueryString.parse(context.request.uri.query ?? "")
            let connection = Connection(runtime: runtime, parameters: parameters,
                                        channel: context.requestContext.channel, logger: context.logger)
            try await connection.run(inbound: inbound, outbound: outbound)
        }
        let server = runtime.config.server
        let heartbeat = Duration.milliseconds(server.heartbeatMillis)
        return Application(
            router: router,
            server: .http1WebSocketUpgrade(
                webSocketRouter: wsRouter,
                configuration: .init(ws: .init(maxFrameSize: 1 << 16, autoPing: .enabled(timePeriod: heartbeat),
                                               closeTimeout: .seconds(5)))),
            configuration: .init(address: .hostname(server.host, port: server.port), serverName: "tailcast"),
            services: [supervisor],
            onServerRunning: onServerRunning,
            logger: runtime.logger
        )
    }

    /// The service group that runs everything until SIGTERM or SIGINT, then shuts down in order.
    public func serviceGroup(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) throws(SourceError) -> ServiceGroup {
        let supervisor = try SourceSupervisor(runtime: runtime)
        try supervisor.start()
        let app = application(supervisor: supervisor, onServerRunning: onServerRunning)
        var configuration = ServiceGroupConfiguration(
            services: [.init(service: app), .init(service: GoingAway(hub: runtime.hub, logger: runtime.logger))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: runtime.logger)
        // A backstop: shutdown never hangs on a peer, whatever it does.
        configuration.maximumGracefulShutdownDuration = .seconds(15)
        return ServiceGroup(configuration: configuration)
    }
}
