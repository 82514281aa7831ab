import Foundation
import Hummingbird
import TailcastCore

/// Refuses `/api/*` (and `/metrics` unless configured otherwise) without a valid bearer token:
/// 401 with `WWW-Authenticate: Bearer`. `/healthz`, `/readyz`, the UI and `/ws` (which answers
/// with an `error` envelope instead) pass through.
struct TokenMiddleware: RouterMiddleware {
    typealias Context = TailcastRequestContext
    let tokens: TokenTable
    let protectMetrics: Bool
    let basePath: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let protected = path.hasPrefix(basePath + "/api/") || (protectMetrics && path == basePath + "/metrics")
        guard protected else { return try await next(request, context) }
        if let token = BearerToken.from(request.headers[.authorization]), tokens.authorize(token) != nil {
            return try await next(request, context)
        }
        return Response(status: .unauthorized, headers: [
            .wwwAuthenticate: "Bearer realm=\"tailcast\"",
            .contentType: "application/json",
        ], body: .init(byteBuffer: ByteBuffer(string: #"{"error":"unauthorized","message":"send Authorization: Bearer TOKEN"}"#)))
    }
}

/// Reads `Authorization: Bearer T`.
enum BearerToken {
    static func from(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
