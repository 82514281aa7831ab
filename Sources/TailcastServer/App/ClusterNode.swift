import Logging
import TailcastCore

/// This node's place on the bus (`[cluster]`): the connection, the agent's publisher (roles
/// `agent` and `both`) and the viewer's remote sources (roles `viewer` and `both`).
///
/// Promises: made whether or not the bus is reachable (a bus that is down is a log line and
/// `/readyz` 503 until it is back, never a failed start); ``start()`` and ``stop()`` run the
/// threads; remote sources are put into the registry as agents appear, and open queries by
/// glob (or of every source) take them in.
public final class ClusterNode: Sendable {
    public let settings: ClusterSettings
    /// `nil` when the connection could not even be set up (the reason was logged).
    let bus: BusConnection?
    let publisher: AgentPublisher?
    let remote: RemoteSources?

    init(
        settings: ClusterSettings, registry: SourceRegistry, limits: SourceLimits, metrics: PipelineMetrics,
        busMetrics: BusMetrics, hub: ConnectionHub, logger: Logger
    ) {
        self.settings = settings
        var bus: BusConnection?
        do {
            bus = try BusConnection(settings: settings, logger: logger)
        } catch {
            logger.error("cannot use the bus; serving without it", metadata: ["error": "\(error)"])
        }
        self.bus = bus
        if let bus {
            busMetrics.connected.record(bus.isConnected ? 1 : 0)
            bus.onStateChange { up in busMetrics.connected.record(up ? 1 : 0) }
        }
        if let bus, settings.role.publishes {
            publisher = AgentPublisher(bus: bus, settings: settings, metrics: busMetrics, logger: logger) {
                registry.localHandles
            }
        } else {
            publisher = nil
        }
        if let bus, settings.role.serves {
            remote = RemoteSources(
                bus: bus, settings: settings, limits: limits, metrics: metrics, busMetrics: busMetrics, logger: logger
            ) { handles in
                registry.setRemote(handles)
                // Queries by glob, or of every source, take in the new ones.
                hub.sourcesChanged()
            }
        } else {
            remote = nil
        }
    }

    /// Whether the bus is connected now.
    public var isConnected: Bool { bus?.isConnected ?? false }

    func start() {
        publisher?.start()
        remote?.start()
    }

    /// Stops publishing (after a last heartbeat saying this agent stops) and consuming, then
    /// closes the connection.
    func stop() {
        publisher?.stop()
        remote?.stop()
        bus?.close()
    }
}
