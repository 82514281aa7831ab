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
    @Test func badQueryGetsAnErrorNamingTheParameterThen1008() async throws {
        let s = try TestServer()
        try await s.application().test(.live) { client in
            let close = try await client.ws("/ws?source=nope") { inbound, _, _ in
                var reader = EnvelopeReader(inbound)
                let error = try await reader.next()
                #expect(error?["type"] as? String == "error")
                #expect(error?["code"] as? String == "bad_query")
                #expect(error?["param"] as? String == "source")
                try await reader.drain()
            }
            #expect(close?.closeCode == .policyViolation)
        }
    }

    @Test func missingOrWrongTokenGetsUnauthorizedThen1008() async throws {
        let s = try TestServer(tokens: "token-full-0123456789\n")
        defer { s.removeFiles() }
        try await s.application().test(.live) { client in
            for path in ["/ws", "/ws?token=token-wrong-0123456789"] {
                let close = try await client.ws(path) { inbound, _, _ in
                    var reader = EnvelopeReader(inbound)
                    let error = try await reader.next()
                    #expect(error?["code"] as? String == "unauthorized")
                    #expect(error?["param"] as? String == "token")
                    try await reader.drain()
                }
                #expect(close?.closeCode == .policyViolation, "\(path)")
            }
        }
    }

    @Test func sourceOutsideTheGrantIsForbiddenThen1008() async throws {
        let s = try TestServer(sources: ["app", "web"], tokens: "token-app-0123456789 app\n")
        defer { s.removeFiles() }
        try await s.application().test(.live) { client in
            let close = try await client.ws("/ws?source=web",
                                            configuration: .init(additionalHeaders: [.authorization: "Bearer token-app-0123456789"])) { inbound, _, _ in
                var reader = EnvelopeReader(inbound)
                let error = try await reader.next()
                #expect(error?["code"] as? String == "forbidden")
                #expect(error?["param"] as? String == "source")
                try await reader.drain()
            }
            #expect(close?.closeCode == .policyViolation)
        }
    }

    @Test func clientMessageOver64KiBGets1009() async throws {
        let s = try TestServer()
        try await s.application().test(.live) { client in
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
        try await s.application().test(.live) { client in
            let first = try await client.ws("/ws") { inbound, _, _ in
                var reader = EnvelopeReader(inbound)
                #expect(try await reader.next()?["type"] as? String == "hello")
                // The first is open: the second is one too many.
                let second = try await client.ws("/ws") { inbound, _, _ in
                    var reader = EnvelopeReader(inbound)
                    let error = try await reader.next()
                    #expect(error?["code"] as? String == "too_many_connections")
                    try await reader.drain()
                }
                #expect(second?.closeCode == .unknown(1013))
            }
            // The first was not disturbed: it closed itself, normally.
            #expect(first?.closeCode == .normalClosure)
        }
    }

    @Test func drainingHubClosesOpenConnectionsWith1001() async throws {
        let s = try TestServer()
        try await s.application().test(.live) { client in
            let close = try await client.ws("/ws") { inbound, _, _ in
                var reader = EnvelopeReader(inbound)
                #expect(try await reader.next()?["type"] as? String == "hello")
                await s.runtime.hub.goAway()
                try await reader.drain()
            }
            #expect(close?.closeCode == .goingAway)
        }
    }
}
