import Foundation
import HummingbirdWebSocket
import Logging
import ServiceLifecycle
import Testing
import WSClient

@testable import TailcastCore
@testable import TailcastServer

/// The whole service group, as `tailcast` runs it: a graceful shutdown (SIGTERM) closes every
/// WebSocket with 1001 before the server stops, and then the group returns.
@Suite struct GracefulShutdownTests {
    @Test func shutdownClosesOpenWebSocketsWith1001AndReturns() async throws {
        let s = try TestServer()
        let listening = ListeningPort()
        let group = try s.server.serviceGroup(onServerRunning: { channel in listening.set(channel.localAddress?.port) })
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try await listening.wait()
            let close = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/ws", logger: Logger(label: "client")) {
                inbound, _, _ in
                var reader = EnvelopeReader(inbound)
                #expect(try await reader.next()?["type"] as? String == "hello")
                await group.triggerGracefulShutdown()
                try await reader.drain()
            }
            #expect(close?.closeCode == .goingAway)
            // The group ends on its own once the connections are gone (well within its 15 s backstop).
            let started = ContinuousClock.now
            _ = try await tasks.next()
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(s.runtime.hub.count == 0)
        }
    }
}
