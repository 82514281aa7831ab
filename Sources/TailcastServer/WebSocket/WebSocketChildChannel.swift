import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// A server child channel for HTTP/1.1 with tailcast's WebSocket endpoint: plain requests go to
/// Hummingbird's responder; an upgrade that ``WebSocketEndpoint`` accepts becomes a
/// ``Connection`` handler in the channel's pipeline, and then no task is kept for the
/// connection: it lives on its event loop, woken by its rings, its timers and its socket.
///
/// Promises: the same answers as Hummingbird's `HTTP1WebSocketUpgradeChannel`: a refused or
/// foreign upgrade is `400` with an empty body, an upgrade asked on a connection that already
/// served a request is redirected (`307`, `Connection: close`) so the client retries on a new
/// one.
struct WebSocketChildChannel: ServerChildChannel, HTTPChannelHandler {
    enum Outcome: Sendable {
        /// The connection is a WebSocket now; its handler runs it.
        case webSocket
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case failedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
    }

    struct Value: ServerChildChannelValue {
        let outcome: EventLoopFuture<Outcome>
        let channel: any Channel
    }

    let endpoint: WebSocketEndpoint
    let http1: HTTP1Channel.Configuration
    let responder: HTTPChannelHandler.Responder

    init(responder: @escaping HTTPChannelHandler.Responder, endpoint: WebSocketEndpoint, http1: HTTP1Channel.Configuration) {
        self.endpoint = endpoint
        self.http1 = http1
        self.responder = Self.redirectingUpgrades(responder)
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let upgradeAttempted = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            // What the accepted upgrade agreed, from `shouldUpgrade` to the pipeline handler.
            let agreed = NIOLoopBoundBox<PerMessageDeflate.Agreement?>(nil, eventLoop: channel.eventLoop)
            let endpoint = self.endpoint
            let http1 = self.http1
            let upgrader = NIOTypedWebSocketServerUpgrader<Outcome>(
                maxFrameSize: endpoint.maxMessageBytes,
                shouldUpgrade: { channel, head in
                    upgradeAttempted.value = true
                    let acceptance = endpoint.accept(head, logger: logger)
                    agreed.value = acceptance?.deflate
                    return channel.eventLoop.makeSucceededFuture(acceptance?.headers)
                },
                upgradePipelineHandler: { channel, head in
                    channel.eventLoop.makeCompletedFuture {
                        try endpoint.startConnection(on: channel, head: head, deflate: agreed.value)
                        return Outcome.webSocket
                    }
                }
            )
            let serverUpgrade = NIOTypedHTTPServerUpgradeConfiguration<Outcome>(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandlers(http1.additionalChannelHandlers())
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: http1.idleTimeout.map { .init($0) }, logger: logger))
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        return upgradeAttempted.value ? Outcome.failedUpgrade(asyncChannel) : Outcome.notUpgraded(asyncChannel)
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Outcome>(upgradeConfiguration: serverUpgrade)
            configuration.enablePipelining = false  // HTTP is pipelined by NIOAsyncChannel
            configuration.enableErrorHandling = false  // Hummingbird answers errors
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validate them
            configuration.decoderConfiguration.maxHeaderFieldSize = http1.httpDecoder.maxHeaderFieldSize
            configuration.decoderConfiguration.maxHeaderListSize = http1.httpDecoder.maxHeaderListSize
            configuration.decoderConfiguration.maxHeaderFieldCount = http1.httpDecoder.maxHeaderFieldCount
            let outcome = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            return Value(outcome: outcome, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.outcome.get() {
            case .webSocket:
                return  // the Connection handler in the pipeline runs it from here
            case .notUpgraded(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .failedUpgrade(let http):
                await Self.refuseUpgrade(http, logger: logger)
            }
        } catch let error as ChannelError where error == .inputClosed {
            logger.trace("the connection closed before its first request")
        } catch {
            logger.debug("connection setup failed", metadata: ["error": "\(error)"])
        }
    }

    /// `400` with an empty body, then close (what Hummingbird answers a refused upgrade).
    private static func refuseUpgrade(_ http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger) async {
        do {
            try await http.executeThenClose { _, outbound in
                let head = HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])
                try await outbound.write(contentsOf: [.head(head), .end(nil)])
            }
        } catch {
            logger.trace("could not answer a refused upgrade", metadata: ["error": "\(error)"])
        }
    }

    /// NIO reads an upgrade only as a connection's first request: a later one is sent to a new
    /// connection with a redirect to the same URI.
    private static func redirectingUpgrades(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        struct RedirectThenClose: Error {}
        return { request, writer, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                try await responder(request, writer, channel)
                return
            }
            var path = request.uri.path
            if let query = request.uri.query { path += "?\(query)" }
            try await writer.writeResponse(
                HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: path]))
            throw RedirectThenClose()
        }
    }
}
