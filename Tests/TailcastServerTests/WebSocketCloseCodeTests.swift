import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import HummingbirdWebSocket
import NIOCore
import Testing

@testable import TailcastCore
@testable import TailcastServer

/// The close codes a WebSocket client sees, in process (protocol.md "Close codes").
@Suite struct WebSocketCloseCodeTests {
    // Refusals right after the upgrade are read with RawWebSocket (see there why).

    @Test func badQueryGetsAnErrorNamingTheParameterThen1008() async throws {
        let s = try TestServer()
        try await s.live { client in
            let outcome = await RawWebSocket.open(port: client.port!, path: "/ws?source=nope")
            #expect(outcome.status.contains(" 101 "))
            #expect(outcome.envelopes.first?["type"] as? String == "error")
            #expect(outcome.envelopes.first?["code"] as? String == "bad_query")
            #expect(outcome.envelopes.first?["param"] as? String == "source")
            #expect(outcome.closeCode == 1008)
        }
    }

    @Test func missingOrWrongTokenGetsUnauthorizedThen1008() async throws {
        let s = try TestServer(tokens: "token-full-0123456789\n")
        defer { s.removeFiles() }
        try await s.live { client in
            for (path, headers) in [
                ("/ws", [:]), ("/ws?token=token-wrong-0123456789", [:]),
                ("/ws", ["Authorization": "Bearer token-wrong-0123456789"]),
            ] {
                let outcome = await RawWebSocket.open(port: client.port!, path: path, headers: headers)
                #expect(outcome.envelopes.map { $0["code"] as? String } == ["unauthorized"], "\(path) \(headers)")
                #expect(outcome.envelopes.first?["param"] as? String == "token")
                #expect(outcome.closeCode == 1008, "\(path) \(headers)")
            }
        }
    }

    @Test func sourceOutsideTheGrantIsForbiddenThen1008() async throws {
        let s = try TestServer(sources: ["app", "web"], tokens: "token-app-0123456789 app\n")
        defer { s.removeFiles() }
        try await s.live { client in
            let outcome = await RawWebSocket.open(
                port: client.port!, path: "/ws?source=web",
                headers: ["Authorization": "Bearer token-app-0123456789"])
            #expect(outcome.envelopes.first?["code"] as? String == "forbidden")
            #expect(outcome.envelopes.first?["param"] as? String == "source")
            #expect(outcome.closeCode == 1008)
        }
    }

    @Test func clientMessageOver64KiBGets1009() async throws {
        let s = try TestServer()
        try await s.live { client in
            let close = try await client.ws("/ws") { inbound, outbound, _ in
                var reader = EnvelopeReader(inbound)
                #expect(try await reader.next()?["type"] as? String == "hello")
                try await outbound.write(.text(String(repeating: "x", count: (64 << 10) + 1)))
                try await reader.drain()
            }
            #expect(close?.closeCode == .messageTooLarge)
        }
    }

    @Test func connectionOverMaxConnectionsGetsTooManyConnectionsThen1013() async throws {
        let s = try TestServer { $0.maxConnections = 1 }
        try await s.live { client in
            let first = try await client.ws("/ws") { inbound, _, _ in
                var reader = EnvelopeReader(inbound)
                let hello = try await reader.next()
                #expect(hello?["type"] as? String == "hello")
                // The first is open: the second is one too many.
                let second = await RawWebSocket.open(port: client.port!, path: "/ws")
                #expect(second.envelopes.first?["code"] as? String == "too_many_connections")
                #expect(second.closeCode == 1013)
            }
            // The first was not disturbed: it closed itself, normally.
            #expect(first?.closeCode == .normalClosure)
        }
    }

    @Test func drainingHubClosesOpenConnectionsWith1001() async throws {
        let s = try TestServer()
        try await s.live { client in
            let close = try await client.ws("/ws") { inbound, _, _ in
                var reader = EnvelopeReader(inbound)
                #expect(try await reader.next()?["type"] as? String == "hello")
                s.runtime.hub.goAway()
                try await reader.drain()
            }
            #expect(close?.closeCode == .goingAway)
        }
    }
}
