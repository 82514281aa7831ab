import Foundation
import Hummingbird
import TailcastCore

/// Requires a valid bearer token on the routes of the group it is added to (never decided on
/// the raw path: the router has already chosen the route, so `//api/sources` or
/// `/metrics/` get exactly the same check as `/api/sources` and `/metrics`). Without one:
/// 401 with `WWW-Authenticate: Bearer`. With one: the token's grant and credential go into the
/// context; routes show only the sources it may read, and a streaming answer records the
/// credential (``ConnectionInbox/access``) so that a tokens reload can revoke it. With
/// `acceptsQueryToken`, a `token=T` URL parameter is taken when there is no `Authorization`
/// header (EventSource cannot set one).
struct TokenMiddleware: RouterMiddleware {
    typealias Context = TailcastRequestContext
    /// Read at every request: a token revoked by a reload is refused from the next request on.
    let tokens: CurrentTokens
    var acceptsQueryToken = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var presented = BearerToken.from(request.headers[.authorization])
        if presented == nil, acceptsQueryToken, let query = request.uri.query {
            presented = QueryString.parse(query).last(where: { $0.0 == "token" })?.1
        }
        if let credential = presented.map(TokenTable.Credential.init(token:)),
            let grant = tokens.grant(for: credential)
        {
            var context = context
            context.grant = grant
            context.credential = credential
            return try await next(request, context)
        }
        return Response(
            status: .unauthorized,
            headers: [
                .wwwAuthenticate: "Bearer realm=\"tailcast\"",
                .contentType: "application/json",
                .cacheControl: "no-store",
            ],
            body: .init(
                byteBuffer: ByteBuffer(
                    string:
                        #"{"type":"error","code":"unauthorized","error":"unauthorized","message":"this server needs a token: send Authorization: Bearer TOKEN"}"#
                )))
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
