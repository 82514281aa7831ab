import CoreMetrics

/// Every metric of the pipeline, created once and held, so the hot path only adds to counters.
///
/// Promises: names follow the contract (`tailcast_…_total`, labels `source` and `reason`);
/// nothing here is created per line, per frame or per connection.
public struct PipelineMetrics: Sendable {
    /// The metrics of one source.
    public struct PerSource: Sendable {
        public let linesRead: Counter
        public let bytesRead: Counter
        public let ringLines: Gauge
        public let ringBytes: Gauge
        public let oldestSeq: Gauge
        public let linesSent: Counter
        public let droppedSlowConsumer: Counter
        public let droppedPaused: Counter
        public let droppedEvicted: Counter
        public let droppedRestarted: Counter
        /// 1 while the source is `following`, 0 otherwise (as `/readyz` says).
        public let up: Gauge
        /// The ring's bounds, so that dashboards can show how full it is.
        public let ringMaxLines: Gauge
        public let ringMaxBytes: Gauge

        init(source: String, factory: any MetricsFactory) {
            let d = [("source", source)]
            linesRead = Counter(label: "tailcast_source_lines_read_total", dimensions: d, factory: factory)
            bytesRead = Counter(label: "tailcast_source_bytes_read_total", dimensions: d, factory: factory)
            ringLines = Gauge(label: "tailcast_ring_lines", dimensions: d, factory: factory)
            ringBytes = Gauge(label: "tailcast_ring_bytes", dimensions: d, factory: factory)
            oldestSeq = Gauge(label: "tailcast_ring_oldest_seq", dimensions: d, factory: factory)
            up = Gauge(label: "tailcast_source_up", dimensions: d, factory: factory)
            ringMaxLines = Gauge(label: "tailcast_ring_max_lines", dimensions: d, factory: factory)
            ringMaxBytes = Gauge(label: "tailcast_ring_max_bytes", dimensions: d, factory: factory)
            linesSent = Counter(label: "tailcast_lines_sent_total", dimensions: d, factory: factory)
            func dropped(_ reason: String) -> Counter {
                Counter(label: "tailcast_lines_dropped_total", dimensions: d + [("reason", reason)], factory: factory)
            }
            droppedSlowConsumer = dropped("slow_consumer")
            droppedPaused = dropped("paused")
            droppedEvicted = dropped("evicted")
            droppedRestarted = dropped("restarted")
        }

        /// The counter for lines dropped for `reason`.
        public func dropped(_ reason: DropReason) -> Counter {
            switch reason {
            case .slowConsumer: droppedSlowConsumer
            case .paused: droppedPaused
            case .evicted: droppedEvicted
            case .restarted: droppedRestarted
            }
        }
    }

    public let framesSent: Counter
    public let bytesSent: Counter
    public let connections: Meter
    /// Connections whose last read stopped at the frame bound with more lines waiting.
    public let readersLagging: Meter
    public let patternLimitHits: Counter
    public let connectionsRejected: Counter
    public let slowConsumerDisconnects: Counter
    public let writeTimeouts: Counter
    /// Connections cut before their request head was complete (timeout) or for its size (431).
    public let handshakesRejected: Counter
    /// Queries refused (`bad_query`, `unauthorized`, `forbidden`), at connect or by a message.
    public let queriesRejected: Counter
    /// The process's resident memory, refreshed at each scrape.
    public let residentBytes: Gauge
    private let factory: any MetricsFactory

    public init(factory: any MetricsFactory) {
        self.factory = factory
        framesSent = Counter(label: "tailcast_frames_sent_total", factory: factory)
        bytesSent = Counter(label: "tailcast_bytes_sent_total", factory: factory)
        connections = Meter(label: "tailcast_connections", factory: factory)
        readersLagging = Meter(label: "tailcast_readers_lagging", factory: factory)
        patternLimitHits = Counter(label: "tailcast_pattern_limit_hits_total", factory: factory)
        connectionsRejected = Counter(label: "tailcast_connections_rejected_total", factory: factory)
        slowConsumerDisconnects = Counter(label: "tailcast_slow_consumer_disconnects_total", factory: factory)
        writeTimeouts = Counter(label: "tailcast_write_timeouts_total", factory: factory)
        handshakesRejected = Counter(label: "tailcast_handshakes_rejected_total", factory: factory)
        queriesRejected = Counter(label: "tailcast_queries_rejected_total", factory: factory)
        residentBytes = Gauge(label: "tailcast_process_resident_bytes", factory: factory)
    }

    /// Creates the metrics of one source; call once per source.
    public func forSource(_ name: String) -> PerSource {
        PerSource(source: name, factory: factory)
    }
}

/// Why a reader lost lines, as the `dropped` envelope's `reason` says.
public enum DropReason: String, Sendable {
    case slowConsumer = "slow_consumer"
    case paused
    case evicted
    case restarted
}
