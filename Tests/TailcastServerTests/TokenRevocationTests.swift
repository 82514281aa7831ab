import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import HummingbirdWebSocket
import Testing

@testable import TailcastCore
@testable import TailcastServer

/// A tokens reload closes exactly the connections it no longer allows.
@Suite struct TokenRevocationTests {
    @Test func revokedConnectionGetsUnauthorizedAnd1008WhileAnotherStays() async throws {
        let s = try TestServer(sources: ["app", "web"], tokens: "token-gone-0123456789\ntoken-kept-0123456789\n")
        defer { s.removeFiles() }
        let keptIsOpen = Gate()
        let revokedIsClosed = Gate()
        try await s.live { client in
            async let kept = client.ws("/ws?token=token-kept-0123456789") { inbound, outbound, _ in
                var reader = EnvelopeReader(inbound)
                #expect(try await reader.next()?["type"] as? String == "hello")
                keptIsOpen.open()
                try await revokedIsClosed.wait()
                // Still served: a message gets its answer.
                try await outbound.write(.text("{not json"))
                let answer = try await reader.next()
                #expect(answer?["type"] as? String == "error")
                #expect(answer?["code"] as? String == "bad_message")
            }
            let revoked = try await client.ws(
                "/ws", configuration: .init(additionalHeaders: [.authorization: "Bearer token-gone-0123456789"])
            ) { inbound, _, _ in
                var reader = EnvelopeReader(inbound)
                #expect(try await reader.next()?["type"] as? String == "hello")
                try await keptIsOpen.wait()
                try await s.reloadTokens("token-kept-0123456789\n")
                let error = try await reader.next()
                #expect(error?["type"] as? String == "error")
                #expect(error?["code"] as? String == "unauthorized")
                #expect((error?["message"] as? String)?.contains("revoked") == true)
                try await reader.drain()
            }
            #expect(revoked?.closeCode == .policyViolation)
            revokedIsClosed.open()
            // The kept connection closed itself, normally, after its answer.
            let keptClose = try await kept
            #expect(keptClose?.closeCode == .normalClosure)
        }
    }

    @Test func narrowedGrantClosesOnlyReadersOfTheWithdrawnSource() async throws {
        let s = try TestServer(sources: ["app", "web"], tokens: "token-both-0123456789 app,web\n")
        defer { s.removeFiles() }
        let appIsOpen = Gate()
        let webIsClosed = Gate()
        try await s.live { client in
            async let app = client.ws("/ws?source=app&token=token-both-0123456789") { inbound, outbound, _ in
                var reader = EnvelopeReader(inbound)
                #expect(try await reader.next()?["type"] as? String == "hello")
                appIsOpen.open()
                try await webIsClosed.wait()
                // A new query is checked against the grant in force now: web is no longer readable.
                try await outbound.write(.text(#"{"type":"query","source":["web"]}"#))
                let answer = try await reader.next()
                #expect(answer?["code"] as? String == "forbidden")
            }
            let web = try await client.ws("/ws?source=web&token=token-both-0123456789") { inbound, _, _ in
                var reader = EnvelopeReader(inbound)
                #expect(try await reader.next()?["type"] as? String == "hello")
                try await appIsOpen.wait()
                try await s.reloadTokens("token-both-0123456789 app\n")
                let error = try await reader.next()
                #expect(error?["code"] as? String == "unauthorized")
                #expect((error?["message"] as? String)?.contains(#""web""#) == true)
                try await reader.drain()
            }
            #expect(web?.closeCode == .policyViolation)
            webIsClosed.open()
            let appClose = try await app
            #expect(appClose?.closeCode == .normalClosure)
        }
    }
}

/// The pure decision behind a revocation.
@Suite struct ConnectionAccessTests {
    @Test func verdicts() throws {
        let table = try TokenTable.parse("token-all-0123456789\ntoken-app-0123456789 app\n")
        let all = TokenTable.Credential(token: "token-all-0123456789")
        let app = TokenTable.Credential(token: "token-app-0123456789")
        let gone = TokenTable.Credential(token: "token-gone-0123456789")
        #expect(ConnectionAccess(credential: all, sources: ["app", "web"]).check(against: table) == .allowed)
        #expect(ConnectionAccess(credential: app, sources: ["app"]).check(against: table) == .allowed)
        #expect(ConnectionAccess(credential: app, sources: ["app", "web"]).check(against: table) == .sourceWithdrawn("web"))
        #expect(ConnectionAccess(credential: gone, sources: []).check(against: table) == .tokenRevoked)
    }
}
