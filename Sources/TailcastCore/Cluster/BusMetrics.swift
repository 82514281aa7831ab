import CoreMetrics

/// The metrics of a node on the bus (exported only with `[cluster]`).
public struct BusMetrics: Sendable {
    /// 1 while connected to the bus.
    public let connected: Gauge
    /// Messages the stream acknowledged (agent).
    public let published: Counter
    /// Publish attempts that failed and will be tried again (agent).
    public let publishFailures: Counter
    /// Messages taken from the stream into remote rings (viewer).
    public let received: Counter
    /// Agents sending heartbeats now (viewer).
    public let agents: Gauge

    public init(factory: any MetricsFactory) {
        connected = Gauge(label: "tailcast_bus_connected", factory: factory)
        published = Counter(label: "tailcast_bus_messages_published_total", factory: factory)
        publishFailures = Counter(label: "tailcast_bus_publish_failures_total", factory: factory)
        received = Counter(label: "tailcast_bus_messages_received_total", factory: factory)
        agents = Gauge(label: "tailcast_bus_agents", factory: factory)
        connected.record(0)
        agents.record(0)
    }
}
