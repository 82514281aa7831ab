import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import TailcastCore

/// `GET /api/lines`: the `/ws` query over plain HTTP, for `curl`, scripts and `EventSource`:
/// NDJSON, text or Server-Sent Events, one-shot (the replay of `n`, `since`, `from`) or with
/// `follow` a stream.
///
/// Promises: the same query engine as `/ws` (``QueryParser``, ``SourceSelection``,
/// ``Subscription``); a rejected query answers before anything is read from a ring (400, or 403
/// for a source the token may not read) with the `error` envelope as JSON; a `follow` stream is
/// admitted through the ``ConnectionHub`` like a WebSocket (503 when full or shutting down) and
/// releases its place on every path out.
enum LinesRoute {
    /// - Parameter router: the `api` group (which carries the token check when auth is on).
    static func add(to router: RouterGroup<TailcastRequestContext>, runtime: ServerRuntime) {
        router.get("lines") { request, context in
            try await answer(request, context: context, runtime: runtime)
        }
    }

    static func answer(_ request: Request, context: TailcastRequestContext, runtime: ServerRuntime) async throws -> Response {
        let options: LinesOptions
        let subscription: Subscription
        let format: FrameFormat
        do throws(QueryError) {
            let (o, parameters) = try LinesOptions.split(
                QueryString.parse(request.uri.query ?? ""),
                accept: request.headers[.accept],
                lastEventID: request.headers[HTTPField.Name("Last-Event-ID")!])
            options = o
            let query = try runtime.parser.parse(parameters: parameters)
            let sources = try SourceSelection(runtime: runtime, grant: context.grant).sources(for: query)
            format =
                switch o.format {
                case .ndjson: .ndjson
                case .text: .text(sourcePrefix: sources.count > 1)
                case .sse: .sse
                }
            subscription = try Subscription(
                query: query, sources: sources, writer: runtime.writer.formatted(format),
                metrics: runtime.metrics)
        } catch {
            runtime.metrics.queriesRejected.increment()
            context.logger.info(
                "rejected /api/lines query",
                metadata: [
                    "param": "\(LogText.escaped(error.param ?? "-"))", "message": "\(LogText.escaped(error.message))",
                ])
            return errorResponse(error.code == "forbidden" ? .forbidden : .badRequest, error, runtime: runtime)
        }
        var admission: HubAdmission?
        if options.follow {
            let inbox = ConnectionInbox()
            let channel = context.channel
            let admitted = runtime.hub.admit(inbox, channel: channel, address: ConnectionHub.address(of: channel))
            if let refusal = admitted.refusal(runtime.config.server) {
                if admitted != .shuttingDown { runtime.metrics.connectionsRejected.increment() }
                return errorResponse(.serviceUnavailable, refusal, runtime: runtime)
            }
            admission = HubAdmission(hub: runtime.hub, inbox: inbox, metrics: runtime.metrics)
            // A tokens reload revokes this stream like a WebSocket: record what it reads,
            // then check again (a reload may have landed since the middleware's check).
            if let credential = context.credential, let tokens = runtime.tokens {
                let access = ConnectionAccess(credential: credential, sources: subscription.sources.map(\.name))
                inbox.access = access
                let verdict = access.check(against: tokens.snapshot)
                if verdict != .allowed {
                    admission?.release()
                    return errorResponse(
                        .unauthorized,
                        QueryError(
                            code: "unauthorized", param: "token",
                            message: verdict.message), runtime: runtime)
                }
            }
        }
        var headers = HTTPFields()
        headers[.contentType] = format.contentType
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        let stream = LinesStream(
            runtime: runtime, subscription: subscription, envelopes: runtime.writer.formatted(format),
            follow: options.follow, grant: context.grant, admission: admission, channel: context.channel,
            logger: context.logger, parameters: QueryString.parse(request.uri.query ?? ""))
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                try await stream.run(&writer)
            })
    }

    static func errorResponse(_ status: HTTPResponse.Status, _ error: QueryError, runtime: ServerRuntime) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: runtime.writer.error(error)))
    }
}
