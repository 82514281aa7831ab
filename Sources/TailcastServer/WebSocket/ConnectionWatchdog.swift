import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TailcastCore

/// One timer for every open WebSocket: rings a connection's doorbell when its heartbeat is due
/// and closes a connection whose write has waited `write_timeout_ms`.
///
/// Promises: a connection costs an entry here, not a task of its own (a sleeping task holds
/// its stack slabs, a few KiB, for the connection's whole life); each tick looks at every
/// entry once, under one lock, and does no I/O but `Channel.close` on a stuck peer.
final class ConnectionWatchdog: Sendable {
    struct Entry: Sendable {
        let clock: ConnectionClock
        let doorbell: Doorbell
        let channel: any Channel
    }

    private let entries = Mutex<[ObjectIdentifier: Entry]>([:])

    /// Starts watching a connection; call ``forget(_:)`` on every way out.
    func watch(_ inbox: ConnectionInbox, clock: ConnectionClock, channel: any Channel) {
        entries.withLock { $0[ObjectIdentifier(inbox)] = Entry(clock: clock, doorbell: inbox.doorbell, channel: channel) }
    }

    func forget(_ inbox: ConnectionInbox) {
        _ = entries.withLock { $0.removeValue(forKey: ObjectIdentifier(inbox)) }
    }

    /// Connections watched now.
    var count: Int { entries.withLock { $0.count } }

    /// The period of the checks: a quarter of the shorter of the two intervals (at least 50 ms).
    static func tickNanos(_ settings: ServerSettings) -> Int64 {
        Int64(max(50, min(settings.heartbeatMillis, settings.writeTimeoutMillis) / 4)) * 1_000_000
    }

    /// One round of checks; returns the channels it closed (for tests).
    @discardableResult
    func check(_ settings: ServerSettings, metrics: PipelineMetrics, logger: Logger) -> Int {
        let tick = Self.tickNanos(settings)
        let heartbeat = Int64(settings.heartbeatMillis) * 1_000_000
        let writeTimeout = Int64(settings.writeTimeoutMillis) * 1_000_000
        let (ring, stuck) = entries.withLock { all -> ([Doorbell], [any Channel]) in
            var ring: [Doorbell] = []
            var stuck: [(ObjectIdentifier, any Channel)] = []
            for (key, e) in all {
                if e.clock.writeWaitNanos >= writeTimeout {
                    stuck.append((key, e.channel))
                } else if e.clock.idleNanos >= heartbeat - tick / 2 {
                    ring.append(e.doorbell)
                }
            }
            // A connection is closed (and counted) once: it is not watched any more.
            for (key, _) in stuck { all.removeValue(forKey: key) }
            return (ring, stuck.map(\.1))
        }
        for d in ring { d.ring() }
        for channel in stuck {
            metrics.writeTimeouts.increment()
            logger.notice("closing a client that accepted nothing for write_timeout_ms")
            channel.close(promise: nil)
        }
        return stuck.count
    }

    /// Checks every tick until the task is cancelled (the application stops).
    func run(_ settings: ServerSettings, metrics: PipelineMetrics, logger: Logger) async {
        let tick = UInt64(Self.tickNanos(settings))
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: tick)
            check(settings, metrics: metrics, logger: logger)
        }
    }
}

/// Runs the watchdog beside the HTTP server for the application's life.
struct ConnectionWatchdogService: Service {
    let watchdog: ConnectionWatchdog
    let settings: ServerSettings
    let metrics: PipelineMetrics
    let logger: Logger

    /// Ends when the application shuts down: the service group stops GoingAway (which closes
    /// every WebSocket) before the application, so no connection needs the watchdog then.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            await watchdog.run(settings, metrics: metrics, logger: logger)
        }
    }
}
