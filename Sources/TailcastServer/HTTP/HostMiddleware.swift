import Hummingbird
import TailcastCore

/// Answers `421` to every request whose `Host` the ``HostPolicy`` refuses (DNS rebinding).
/// Added to the router before any route, so it runs for every route and for 404s; the first
/// request of each connection is also checked earlier, by the handshake guard.
struct HostMiddleware: RouterMiddleware {
    typealias Context = TailcastRequestContext
    let hosts: HostPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if hosts.allows(hostHeader: request.head.authority) {
            return try await next(request, context)
        }
        return JSONResponse.make(
            .misdirectedRequest,
            #"{"error":"misdirected","message":"this server does not answer for that Host; add it to [server] allowed_hosts"}"#)
    }
}
