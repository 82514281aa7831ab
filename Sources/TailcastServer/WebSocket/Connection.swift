import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import TailcastCore

/// One WebSocket client: an inbound task that reads client messages and a sender task that is
/// the connection's only data writer; the server's ``ConnectionWatchdog`` rings it for
/// heartbeats and closes it when a write passes the deadline.
///
/// Promises: nothing is read from a ring before the query is accepted; a rejected query gets
/// an `error` envelope and close 1008; at most one frame is in flight, so what the connection
/// holds is bounded by one frame plus the socket's buffers; a write that the peer does not take
/// within `write_timeout_ms` closes the channel.
struct Connection {
    let runtime: ServerRuntime
    let parameters: [(String, String)]
    /// The `Authorization` header of the upgrade request.
    let authorization: String?
    let channel: any Channel
    let logger: Logger

    private var settings: ServerSettings { runtime.config.server }

    /// Throws only what the WebSocket library turns into a close code of its own (a client
    /// message over 64 KiB: 1009).
    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let inbox = ConnectionInbox()
        // The address is read once, now: NIO forgets it when the channel closes, and the
        // per-address count must be released under the key it was taken with.
        let address = ConnectionHub.address(of: channel)
        let peer = channel.remoteAddress.map { "\($0)" } ?? "?"
        let admission = await runtime.hub.admit(inbox, channel: channel, address: address)
        switch admission {
        case .admitted:
            break
        case .full, .fullForAddress:
            runtime.metrics.connectionsRejected.increment()
            if let refusal = admission.refusal(settings) {
                try? await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: runtime.writer.error(refusal))))
            }
            let reason = admission == .full ? "too many connections" : "too many connections from this address"
            try? await outbound.close(.unknown(1013), reason: reason)
            return
        case .shuttingDown:
            try? await outbound.close(.goingAway, reason: "server shutting down")
            return
        }
        runtime.metrics.connections.increment()
        let clock = ConnectionClock()
        let tally = ConnectionTally()
        let started = ConnectionClock.now()
        let parameters = self.parameters
        let logger = self.logger
        // Heartbeats and the write deadline are the server-wide watchdog's: no ticker task here.
        runtime.watchdog.watch(inbox, clock: clock, channel: channel)
        defer { runtime.watchdog.forget(inbox) }
        let inboundError = await withTaskGroup(of: (any Error)?.self) { group -> (any Error)? in
            group.addTask {
                do {
                    // One message at a time: the next is read from the socket only after the
                    // sender took this one, so TCP pushes back on a client that floods.
                    for try await message in inbound.messages(maxSize: 1 << 16) {
                        switch message {
                        case .text(let text): await inbox.deliver(.message(text))
                        case .binary: await inbox.deliver(.binary)
                        }
                        if Task.isCancelled { return nil }
                    }
                    return nil
                } catch is CancellationError {
                    return nil
                } catch {
                    logger.debug("inbound ended", metadata: ["error": "\(error)"])
                    return error
                }
            }
            group.addTask { [runtime, authorization] in
                var sender = Sender(runtime: runtime, inbox: inbox, clock: clock, tally: tally, outbound: outbound, logger: logger)
                await sender.run(parameters: parameters, authorization: authorization)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        await runtime.hub.leave(inbox)
        runtime.metrics.connections.decrement()
        let seconds = Double(ConnectionClock.now() - started) / 1e9
        let query = parameters.filter { $0.0 != "token" }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        logger.info(
            "connection closed",
            metadata: [
                "client": "\(peer)",
                "query": "\(LogText.escaped(query))",
                "duration_s": "\(String(format: "%.1f", seconds))",
                "lines_sent": "\(tally.linesSent)",
                "lines_dropped": "\(tally.linesDropped)",
            ])
        if let inboundError { throw inboundError }
    }
}

/// The sender task's state: the subscription and the writes.
struct Sender {
    let runtime: ServerRuntime
    let inbox: ConnectionInbox
    let clock: ConnectionClock
    let tally: ConnectionTally
    let outbound: WebSocketOutboundWriter
    let logger: Logger

    private var settings: ServerSettings { runtime.config.server }

    /// Why the sender stopped writing.
    enum Stop: Error {
        case closed
    }

    /// What the connection's token may read (all sources when auth is off).
    var grant: TokenTable.Grant = .allSources
    /// The connection's token, remembered to check it again after a reload (`nil` when auth is off).
    var credential: TokenTable.Credential?

    mutating func run(parameters: [(String, String)], authorization: String?) async {
        var subscription: Subscription
        // Authentication first: a client without a valid token learns nothing, not even whether
        // its query is well formed.
        if let tokens = runtime.tokens {
            let presented = (BearerToken.from(authorization) ?? parameters.last(where: { $0.0 == "token" })?.1)
                .map(TokenTable.Credential.init(token:))
            guard let presented, let g = tokens.grant(for: presented) else {
                logger.notice("refused a WebSocket without a valid token")
                runtime.metrics.queriesRejected.increment()
                try? await write(
                    runtime.writer.error(
                        QueryError(
                            code: "unauthorized", param: "token",
                            message: "this server needs a token: send Authorization: Bearer TOKEN, or token=TOKEN in the URL")))
                try? await outbound.close(.policyViolation, reason: "unauthorized")
                return
            }
            grant = g
            credential = presented
        }
        do {
            let query = try runtime.parser.parse(parameters: parameters)
            subscription = try makeSubscription(query, paused: false, grant: grant)
        } catch {
            await reject(error)
            return
        }
        if let revoked = recordAccess(reading: subscription.sources) {
            await closeRevoked(revoked)
            return
        }
        subscription.register(inbox.doorbell)
        defer {
            subscription.unregister(inbox.doorbell)
            tally.add(sent: subscription.linesSentTotal, dropped: subscription.linesDroppedTotal)
        }
        var lagging = false
        defer { if lagging { runtime.metrics.readersLagging.decrement() } }
        do {
            try await write(
                runtime.writer.hello(
                    sources: subscription.sources, query: subscription.query,
                    heartbeatMillis: settings.heartbeatMillis))
            while !Task.isCancelled {
                for command in inbox.take() {
                    switch command {
                    case .goingAway:
                        try? await outbound.close(.goingAway, reason: "server shutting down")
                        return
                    case .revoked(let message):
                        await closeRevoked(message)
                        return
                    case .sourcesChanged:
                        guard let current = currentGrant() else { continue }
                        let added = subscription.adopt(
                            SourceSelection(runtime: runtime, grant: current).newSources(
                                for: subscription.query, besides: subscription.sources))
                        if !added.isEmpty, let message = recordAccess(reading: subscription.sources) {
                            await closeRevoked(message)
                            return
                        }
                    case .binary:
                        try await write(
                            runtime.writer.error(
                                code: "bad_message", message: "binary messages are not part of the protocol; send JSON text"))
                    case .message(let text):
                        try await handle(text, subscription: &subscription)
                    }
                }
                let frames: [ByteBuffer]
                if subscription.hasPendingWork {
                    // A query that spends whole budgets (a costly pattern, a long replay) works on
                    // the cooperative pool, not on the event loop that serves other sockets.
                    frames = await withTaskExecutorPreference(globalConcurrentExecutor) {
                        subscription.poll(maxFrameBytes: settings.maxFrameBytes)
                    }
                } else {
                    frames = subscription.poll(maxFrameBytes: settings.maxFrameBytes)
                }
                if subscription.isLagging != lagging {
                    lagging = subscription.isLagging
                    if lagging { runtime.metrics.readersLagging.increment() } else { runtime.metrics.readersLagging.decrement() }
                }
                if subscription.lostLinesToSlowness, settings.slowConsumer == .disconnect {
                    runtime.metrics.slowConsumerDisconnects.increment()
                    try? await write(
                        runtime.writer.error(
                            code: "slow_consumer",
                            message: "this client read too slowly and lines were lost; slow_consumer = \"disconnect\""))
                    try? await outbound.close(.unknown(1013), reason: "slow consumer")
                    return
                }
                if frames.isEmpty {
                    if clock.idleNanos >= Int64(settings.heartbeatMillis) * 1_000_000 {
                        try await write(runtime.writer.heartbeat())
                        continue
                    }
                    if subscription.hasPendingWork {
                        // The poll spent its budget: let other connections and requests run.
                        await Self.yieldToTheLoop()
                        continue
                    }
                    await inbox.doorbell.wait()
                    continue
                }
                for frame in frames { try await write(frame) }
                if subscription.hasPendingWork { await Self.yieldToTheLoop() }
            }
        } catch {
            logger.debug("sender ended", metadata: ["error": "\(error)"])
        }
    }

    /// Lets the event loop this connection runs on read and write its sockets before the next
    /// slice of budgeted work. `Task.yield()` would not: NIO runs the tasks queued on a loop until
    /// none is left before it polls its sockets, and a yielded task is queued again at once. A hop
    /// to the cooperative pool and back empties the loop's queue for that moment.
    static func yieldToTheLoop() async {
        await withTaskExecutorPreference(globalConcurrentExecutor) { await Task.yield() }
    }

    private func makeSubscription(_ query: Query, paused: Bool, grant: TokenTable.Grant) throws(QueryError) -> Subscription {
        try SourceSelection(runtime: runtime, grant: grant).subscription(for: query, paused: paused)
    }

    /// Records the connection's token and the sources it reads in the inbox, where a tokens
    /// reload checks them, then checks them against the table in force now (a reload that ran
    /// between the token check and this record is caught here). Returns the revocation message
    /// when the table no longer allows them.
    private func recordAccess(reading sources: [SourceHandle]) -> String? {
        guard let credential, let tokens = runtime.tokens else { return nil }
        let access = ConnectionAccess(credential: credential, sources: sources.map(\.name))
        inbox.access = access
        let verdict = access.check(against: tokens.snapshot)
        return verdict == .allowed ? nil : verdict.message
    }

    /// The grant of the connection's token in the table in force now (a reload may have
    /// changed it); `nil` when it was revoked.
    private func currentGrant() -> TokenTable.Grant? {
        guard let credential, let tokens = runtime.tokens else { return .allSources }
        return tokens.grant(for: credential)
    }

    /// The token or a source it reads was revoked by a reload: `unauthorized`, then close 1008.
    private func closeRevoked(_ message: String) async {
        logger.notice("closing a WebSocket whose token a reload revoked", metadata: ["reason": "\(message)"])
        try? await write(runtime.writer.error(QueryError(code: "unauthorized", param: "token", message: message)))
        try? await outbound.close(.policyViolation, reason: "unauthorized")
    }

    private func reject(_ error: any Error) async {
        let e = (error as? QueryError) ?? QueryError(param: nil, message: "\(error)")
        runtime.metrics.queriesRejected.increment()
        logger.info(
            "rejected query",
            metadata: [
                "param": "\(LogText.escaped(e.param ?? "-"))",
                "message": "\(LogText.escaped(e.message))",
            ])
        try? await write(runtime.writer.error(e))
        try? await outbound.close(.policyViolation, reason: e.code == "forbidden" ? "forbidden" : "bad query")
    }

    private func handle(_ text: String, subscription: inout Subscription) async throws {
        let message: JSONValue
        do {
            message = try JSONValue.parse(text)
        } catch {
            try await write(runtime.writer.error(error))
            return
        }
        guard case .object(let members) = message,
            let typeValue = members.first(where: { $0.0 == "type" })?.1, case .string(let type) = typeValue
        else {
            try await write(
                runtime.writer.error(code: "bad_message", message: "a message is a JSON object with a \"type\": query, pause or resume"))
            return
        }
        switch type {
        case "pause":
            subscription.pause()
        case "resume":
            subscription.resume()
            inbox.doorbell.ring()
        case "query":
            // The grant in force now: a reload may have narrowed or revoked it since the start.
            guard let current = currentGrant() else {
                inbox.post(.revoked(ConnectionAccess.Verdict.tokenRevoked.message))
                return
            }
            do {
                let query = try runtime.parser.parse(message: message)
                let next = try makeSubscription(query, paused: subscription.isPaused, grant: current)
                subscription.unregister(inbox.doorbell)
                tally.add(sent: subscription.linesSentTotal, dropped: subscription.linesDroppedTotal)
                subscription = next
                subscription.register(inbox.doorbell)
                if let revoked = recordAccess(reading: subscription.sources) {
                    inbox.post(.revoked(revoked))
                    return
                }
                try await write(
                    runtime.writer.hello(
                        sources: subscription.sources, query: subscription.query,
                        heartbeatMillis: settings.heartbeatMillis))
            } catch let error as QueryError {
                runtime.metrics.queriesRejected.increment()
                try await write(runtime.writer.error(error))
            }
        default:
            try await write(
                runtime.writer.error(
                    code: "bad_message", message: "unknown message type \(JSONString.quoted(type)); use query, pause or resume"))
        }
    }

    private func write(_ payload: ByteBuffer) async throws {
        clock.writeStarted()
        defer { clock.writeFinished() }
        let bytes = payload.readableBytes
        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: payload)))
        runtime.metrics.framesSent.increment()
        runtime.metrics.bytesSent.increment(by: Int64(bytes))
    }
}
