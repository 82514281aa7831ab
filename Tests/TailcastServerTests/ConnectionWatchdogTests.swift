import Logging
import Metrics
import NIOCore
import NIOEmbedded
import TailcastCore
import Testing

@testable import TailcastServer

@Suite struct ConnectionWatchdogTests {
    let metrics = PipelineMetrics(factory: NOOPMetricsHandler.instance)
    let logger = Logger(label: "test")

    func settings(heartbeat: Int = 60_000, writeTimeout: Int = 100) -> ServerSettings {
        var s = ServerSettings()
        s.heartbeatMillis = heartbeat
        s.writeTimeoutMillis = writeTimeout
        return s
    }

    /// Waits (at most `seconds`) until `condition` holds.
    func eventually(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test func aStuckWriteIsClosedAndCountedOnce() async throws {
        let watchdog = ConnectionWatchdog()
        let channel = EmbeddedChannel()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).get()
        #expect(channel.isActive)
        let inbox = ConnectionInbox()
        let clock = ConnectionClock()
        watchdog.watch(inbox, clock: clock, channel: channel)
        clock.writeStarted()  // and the peer never takes it
        let s = settings()
        #expect(await eventually(5) { clock.writeWaitNanos >= 100_000_000 })
        #expect(watchdog.check(s, metrics: metrics, logger: logger) == 1)
        #expect(!channel.isActive)
        // Not again at the next tick: the connection is no longer watched.
        #expect(watchdog.check(s, metrics: metrics, logger: logger) == 0)
        #expect(watchdog.count == 0)
        watchdog.forget(inbox)  // the connection's own way out stays harmless
    }

    @Test func aWriteThatCompletesIsLeftAlone() async throws {
        let watchdog = ConnectionWatchdog()
        let channel = EmbeddedChannel()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).get()
        #expect(channel.isActive)
        let inbox = ConnectionInbox()
        let clock = ConnectionClock()
        watchdog.watch(inbox, clock: clock, channel: channel)
        clock.writeStarted()
        clock.writeFinished()
        try await Task.sleep(for: .milliseconds(150))
        #expect(watchdog.check(settings(), metrics: metrics, logger: logger) == 0)
        #expect(channel.isActive)
        watchdog.forget(inbox)
        #expect(watchdog.count == 0)
    }
}
