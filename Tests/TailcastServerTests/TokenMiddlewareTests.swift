import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import TailcastCore
@testable import TailcastServer

/// Bearer tokens on the HTTP routes: 401 without a valid token, grants filtering `/api/sources`.
@Suite struct TokenMiddlewareTests {
    static let tokens = """
        token-full-0123456789
        token-app-0123456789 app
        """

    /// The source names in an `/api/sources` answer (empty when it is not a JSON array).
    private func names(_ body: ByteBuffer) -> [String] {
        let items = (try? JSONSerialization.jsonObject(with: Data(String(buffer: body).utf8))) as? [[String: Any]] ?? []
        return items.compactMap { $0["name"] as? String }
    }

    @Test func apiAndMetricsWithoutAValidTokenAre401WithABearerChallenge() async throws {
        let s = try TestServer(sources: ["app", "web"], tokens: Self.tokens)
        defer { s.removeFiles() }
        try await s.application().test(.router) { client in
            for uri in ["/api/sources", "/metrics"] {
                for headers: HTTPFields in [[:], [.authorization: "Bearer token-wrong-0123456789"], [.authorization: "Basic dXNlcjpwdw=="]]
                {
                    try await client.execute(uri: uri, method: .get, headers: headers) { response in
                        #expect(response.status == .unauthorized, "\(uri) \(headers)")
                        #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="tailcast""#)
                        #expect(String(buffer: response.body).contains(#""code":"unauthorized""#))
                    }
                }
            }
            // Health checks stay open.
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func grantsFilterApiSources() async throws {
        let s = try TestServer(sources: ["app", "web"], tokens: Self.tokens)
        defer { s.removeFiles() }
        try await s.application().test(.router) { client in
            try await client.execute(uri: "/api/sources", method: .get, headers: [.authorization: "Bearer token-full-0123456789"]) {
                response in
                #expect(response.status == .ok)
                #expect(names(response.body) == ["app", "web"])
            }
            try await client.execute(uri: "/api/sources", method: .get, headers: [.authorization: "Bearer token-app-0123456789"]) {
                response in
                #expect(response.status == .ok)
                #expect(names(response.body) == ["app"])
            }
        }
    }

    @Test func reloadedTableIsInForceForTheNextRequest() async throws {
        let s = try TestServer(sources: ["app", "web"], tokens: Self.tokens)
        defer { s.removeFiles() }
        try await s.application().test(.router) { client in
            try await s.reloadTokens("token-app-0123456789 app,web\ntoken-new-0123456789\n")
            try await client.execute(uri: "/api/sources", method: .get, headers: [.authorization: "Bearer token-full-0123456789"]) {
                response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/api/sources", method: .get, headers: [.authorization: "Bearer token-new-0123456789"]) {
                response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/api/sources", method: .get, headers: [.authorization: "Bearer token-app-0123456789"]) {
                response in
                #expect(names(response.body) == ["app", "web"])
            }
        }
    }

    @Test func badOrEmptyTokensFileOnReloadKeepsThePreviousTable() async throws {
        let s = try TestServer(sources: ["app"], tokens: Self.tokens)
        defer { s.removeFiles() }
        try await s.application().test(.router) { client in
            for bad in ["token-new-0123456789\nshort\n", "# nothing left\n"] {
                try await s.reloadTokens(bad)
                try await client.execute(uri: "/api/sources", method: .get, headers: [.authorization: "Bearer token-full-0123456789"]) {
                    response in
                    #expect(response.status == .ok, "after \(bad.debugDescription)")
                }
                try await client.execute(uri: "/api/sources", method: .get, headers: [.authorization: "Bearer token-new-0123456789"]) {
                    response in
                    #expect(response.status == .unauthorized, "after \(bad.debugDescription)")
                }
            }
        }
    }
}
