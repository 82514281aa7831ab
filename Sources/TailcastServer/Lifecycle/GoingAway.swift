import Logging
import ServiceLifecycle

/// On shutdown, before the HTTP server quiesces: closes every WebSocket with 1001 and waits,
/// up to a bound, until all have gone.
public struct GoingAway: Service {
    let hub: ConnectionHub
    let logger: Logger
    let bound: Duration

    public init(hub: ConnectionHub, logger: Logger, bound: Duration = .seconds(3)) {
        self.hub = hub
        self.logger = logger
        self.bound = bound
    }

    public func run() async throws {
        try? await gracefulShutdown()
        let open = await hub.count
        logger.info("shutting down: closing WebSockets with 1001", metadata: ["connections": "\(open)"])
        await hub.goAway()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: bound)
        while await hub.count > 0, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if await hub.count > 0 {
            logger.notice("closing connections that did not take their close frame in time")
            await hub.closeRemaining()
        }
    }
}

extension GoingAway: CustomStringConvertible {
    /// A short name for the service-lifecycle logs.
    public var description: String { "GoingAway" }
}
