import Logging
import ServiceLifecycle

/// On shutdown, before the HTTP server quiesces: closes every WebSocket with 1001 and waits,
/// up to `bound` (5 s, as docs/configuration.md says, and as long as the WebSocket library's
/// own close handshake timeout), until all have gone; then closes those left.
public struct GoingAway: Service {
    let hub: ConnectionHub
    let logger: Logger
    let bound: Duration

    public init(hub: ConnectionHub, logger: Logger, bound: Duration = .seconds(5)) {
        self.hub = hub
        self.logger = logger
        self.bound = bound
    }

    public func run() async throws {
        try? await gracefulShutdown()
        let open = hub.count
        logger.info("shutting down: closing WebSockets with 1001", metadata: ["connections": "\(open)"])
        hub.goAway()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: bound)
        while hub.count > 0, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if hub.count > 0 {
            logger.notice("closing connections that did not take their close frame in time")
            hub.closeRemaining()
        }
    }
}

extension GoingAway: CustomStringConvertible {
    /// A short name for the service-lifecycle logs.
    public var description: String { "GoingAway" }
}
