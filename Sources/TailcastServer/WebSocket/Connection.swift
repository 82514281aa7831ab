import Dispatch
import Foundation
import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import TailcastCore

/// One WebSocket client, as a channel handler on its connection's event loop: no task and no
/// stack of its own while it waits. Its rings wake it through its doorbell (one `execute` on
/// the loop however many rings came meanwhile), the socket through the pipeline, pings through
/// one timer; the server's ``ConnectionWatchdog`` rings it for heartbeats and closes it when the
/// peer takes nothing for `write_timeout_ms`.
///
/// Promises: nothing is read from a ring before the query is accepted; a rejected query gets an
/// `error` envelope and close 1008; lines are polled only while the channel is writable, so what
/// the connection holds is bounded by one poll's frames plus the channel's high-water mark
/// (64 KiB); the client's next bytes are read only while the channel is writable and no message
/// waits, so TCP pushes back on a client that sends faster than it reads; a poll that spends its
/// whole budget (a costly pattern, a long replay) runs the next slices on a worker thread, not
/// on the event loop that serves other sockets.
final class Connection: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let runtime: ServerRuntime
    private let parameters: [(String, String)]
    /// The `Authorization` header of the upgrade request.
    private let authorization: String?
    private var deflate: PerMessageDeflate?
    private var assembler: MessageAssembler
    private let logger: Logger
    private var settings: ServerSettings { runtime.config.server }

    private enum Phase {
        case starting, open, closing, closed
    }

    private var phase = Phase.starting
    private var context: ChannelHandlerContext?
    private let wake = Wake()
    private let inbox: ConnectionInbox
    private let clock = ConnectionClock()
    private let tally = ConnectionTally()
    private var started: Int64 = 0
    private var peer = "?"
    private var admitted = false
    /// What the connection's token may read (all sources when auth is off).
    private var grant: TokenTable.Grant = .allSources
    /// The connection's token, remembered to check it again after a reload.
    private var credential: TokenTable.Credential?
    /// The query's reader, once the query was accepted.
    private var reader: Reader?
    private var lagging = false
    /// The last poll spent its whole budget: the next one runs on a worker.
    private var pendingWork = false
    /// A worker is polling the reader now; the loop does not touch it meanwhile.
    private var offloaded = false
    /// `pump` is running (see the re-entrance note in it), and was asked to run again.
    private var pumping = false
    private var pumpAgain = false
    /// Client messages that came while a worker polled (at most one read's worth).
    private var queued: [ClientMessage] = []
    private var waitingForWritable = false
    private var pingTimer: Scheduled<Void>?
    private var closeTimer: Scheduled<Void>?
    private var pingPayload: ByteBuffer?

    /// A client's data message, checked (text is valid UTF-8).
    enum ClientMessage {
        case text(String)
        case binary
    }

    init(
        runtime: ServerRuntime, parameters: [(String, String)], authorization: String?, deflate: PerMessageDeflate?,
        maxMessageBytes: Int
    ) {
        self.runtime = runtime
        self.parameters = parameters
        self.authorization = authorization
        self.deflate = deflate
        self.assembler = MessageAssembler(maxMessageBytes: maxMessageBytes, compressionAgreed: deflate != nil)
        self.logger = runtime.logger
        let wake = self.wake
        self.inbox = ConnectionInbox(onRing: { wake.ring() })
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        wake.attach(self, loop: context.eventLoop)
        // Reads are asked for one at a time (see `readMore`).
        _ = try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
        start(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch assembler.receive(frame) {
        case .none:
            break
        case .ping(let payload):
            guard phase == .open else { return }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: payload)), promise: nil)
        case .pong(let payload):
            if payload == pingPayload { pingPayload = nil }
        case .close(let payload):
            receivedClose(payload)
        case .fail(let code):
            fail(code)
        case .message(let text, var payload, let compressed):
            guard phase == .open else { return }
            if compressed {
                do {
                    payload = try deflate?.decompress(payload) ?? payload
                } catch is PerMessageDeflate.TooLarge {
                    fail(.messageTooLarge)
                    return
                } catch {
                    fail(.dataInconsistentWithMessage)
                    return
                }
            }
            let message: ClientMessage
            if text {
                guard let s = String(validating: payload.readableBytesView, as: UTF8.self) else {
                    fail(.dataInconsistentWithMessage)
                    return
                }
                message = .text(s)
            } else {
                message = .binary
            }
            if offloaded || !queued.isEmpty {
                queued.append(message)
            } else {
                handle(message)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readMore()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            if waitingForWritable {
                waitingForWritable = false
                clock.writeFinished()
            }
            // Answers to the client's own messages may have filled the channel too: read on.
            pump()
            readMore()
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The client half-closed without a close frame: nothing more will come.
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("WebSocket error", metadata: ["error": "\(error)"])
        // NIO's protocol-error handler answers frame errors with a close frame and closes.
        if !(error is NIOWebSocketError) { context.close(promise: nil) }
    }

    // MARK: - Start and stop

    private func start(_ context: ChannelHandlerContext) {
        started = ConnectionClock.now()
        peer = context.channel.remoteAddress.map { "\($0)" } ?? "?"
        // The address is read once, now: NIO forgets it when the channel closes, and the
        // per-address count must be released under the key it was taken with.
        let admission = runtime.hub.admit(inbox, channel: context.channel, address: ConnectionHub.address(of: context.channel))
        switch admission {
        case .admitted:
            admitted = true
        case .full, .fullForAddress:
            runtime.metrics.connectionsRejected.increment()
            if let refusal = admission.refusal(settings) { send(runtime.writer.error(refusal)) }
            let reason = admission == .full ? "too many connections" : "too many connections from this address"
            close(.unknown(1013), reason: reason)
            return
        case .shuttingDown:
            close(.goingAway, reason: "server shutting down")
            return
        }
        runtime.metrics.connections.increment()
        // Heartbeats and the write deadline are the server-wide watchdog's.
        runtime.watchdog.watch(inbox, clock: clock, channel: context.channel)
        // Authentication first: a client without a valid token learns nothing, not even whether
        // its query is well formed.
        if let tokens = runtime.tokens {
            let presented = (BearerToken.from(authorization) ?? parameters.last(where: { $0.0 == "token" })?.1)
                .map(TokenTable.Credential.init(token:))
            guard let presented, let g = tokens.grant(for: presented) else {
                logger.notice("refused a WebSocket without a valid token")
                runtime.metrics.queriesRejected.increment()
                send(
                    runtime.writer.error(
                        QueryError(
                            code: "unauthorized", param: "token",
                            message: "this server needs a token: send Authorization: Bearer TOKEN, or token=TOKEN in the URL")))
                close(.policyViolation, reason: "unauthorized")
                return
            }
            grant = g
            credential = presented
        }
        let subscription: Subscription
        do {
            let query = try runtime.parser.parse(parameters: parameters)
            subscription = try Self.makeSubscription(runtime, query, paused: false, grant: grant)
        } catch {
            reject(error)
            return
        }
        let sources = subscription.sources
        let query = subscription.query
        subscription.register(inbox.doorbell)
        reader = Reader(subscription)
        phase = .open
        if let revoked = recordAccess(reading: sources) {
            closeRevoked(revoked)
            return
        }
        send(runtime.writer.hello(sources: sources, query: query, heartbeatMillis: settings.heartbeatMillis))
        armPing()
        readMore()
        pump()
    }

    /// Releases what the connection took, once, whichever way it ended.
    private func finish() {
        guard phase != .closed else { return }
        phase = .closed
        pingTimer?.cancel()
        closeTimer?.cancel()
        wake.detach()
        if let reader {
            // If a worker polls now, this waits for its slice (at most one budget, 2 ms).
            let (sent, dropped) = reader.state.withLock { s in
                s.unregister(inbox.doorbell)
                return (s.linesSentTotal, s.linesDroppedTotal)
            }
            tally.add(sent: sent, dropped: dropped)
            self.reader = nil
        }
        guard admitted else { return }
        admitted = false
        if lagging { runtime.metrics.readersLagging.decrement() }
        runtime.watchdog.forget(inbox)
        runtime.hub.leave(inbox)
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
    }

    // MARK: - Lines

    /// What one poll found (built where the poll ran, applied on the loop).
    struct PollResult: Sendable {
        var frames: [ByteBuffer]
        var pendingWork: Bool
        var lagging: Bool
        var lostLinesToSlowness: Bool

        static func of(_ s: inout Subscription, maxFrameBytes: Int) -> PollResult {
            let frames = s.poll(maxFrameBytes: maxFrameBytes)
            return PollResult(
                frames: frames, pendingWork: s.hasPendingWork, lagging: s.isLagging,
                lostLinesToSlowness: s.lostLinesToSlowness)
        }
    }

    /// Sends what the rings hold for this client while the channel takes it; called on every
    /// ring, on writability and after each message.
    func pump() {
        guard phase == .open, !offloaded, let context, let reader else { return }
        // A flush can make the channel writable again and call back in here (NIO fires
        // writability changes inside `flush`): the nested call is deferred to the loop, so that
        // polls never overlap and frames leave in the order they were polled.
        guard !pumping else {
            pumpAgain = true
            return
        }
        pumping = true
        defer {
            pumping = false
            if pumpAgain {
                pumpAgain = false
                wake.ring()
            }
        }
        // Shutdown and revocations are seen even while the peer takes nothing.
        guard takeCommands() else { return }
        guard context.channel.isWritable else {
            startWaiting()
            return
        }
        while !queued.isEmpty, phase == .open {
            handle(queued.removeFirst())
        }
        guard phase == .open else { return }
        readMore()
        let maxFrameBytes = settings.maxFrameBytes
        for _ in 0..<8 {
            if pendingWork {
                offload(reader)
                return
            }
            let result = reader.state.withLock { PollResult.of(&$0, maxFrameBytes: maxFrameBytes) }
            guard apply(result), !offloaded else { return }
            if result.frames.isEmpty, !pendingWork { return }
            guard context.channel.isWritable else {
                startWaiting()
                return
            }
        }
        // More may be waiting: let the loop's other work run first.
        wake.ring()
    }

    /// Writes a poll's frames (or a heartbeat when the connection was quiet for a whole
    /// interval); `false` when the connection is closing.
    private func apply(_ result: PollResult) -> Bool {
        pendingWork = result.pendingWork
        if result.lagging != lagging {
            lagging = result.lagging
            if lagging { runtime.metrics.readersLagging.increment() } else { runtime.metrics.readersLagging.decrement() }
        }
        if result.lostLinesToSlowness, settings.slowConsumer == .disconnect {
            runtime.metrics.slowConsumerDisconnects.increment()
            send(
                runtime.writer.error(
                    code: "slow_consumer",
                    message: "this client read too slowly and lines were lost; slow_consumer = \"disconnect\""))
            close(.unknown(1013), reason: "slow consumer")
            return false
        }
        if result.frames.isEmpty {
            if clock.idleNanos >= Int64(settings.heartbeatMillis) * 1_000_000 { send(runtime.writer.heartbeat()) }
        } else {
            for frame in result.frames { send(frame, flush: false) }
            context?.flush()
        }
        return true
    }

    /// The next slice runs on a worker thread; its frames are written back on the loop.
    private func offload(_ reader: Reader) {
        guard let loop = context?.eventLoop else { return }
        offloaded = true
        let maxFrameBytes = settings.maxFrameBytes
        let me = NIOLoopBound(self, eventLoop: loop)
        DispatchQueue.global().async {
            let result = reader.state.withLock { PollResult.of(&$0, maxFrameBytes: maxFrameBytes) }
            loop.execute { me.value.offloadedPollReturned(result) }
        }
    }

    private func offloadedPollReturned(_ result: PollResult) {
        offloaded = false
        guard phase == .open else { return }
        // As in `pump`: a writability change inside this flush must not start a poll now.
        pumping = true
        let open = apply(result)
        pumping = false
        pumpAgain = false
        if open { pump() }
    }

    private func startWaiting() {
        guard !waitingForWritable else { return }
        waitingForWritable = true
        clock.writeStarted()
    }

    /// Asks the socket for more of the client's bytes, unless the client must wait.
    private func readMore() {
        guard let context else { return }
        switch phase {
        case .open where context.channel.isWritable && queued.isEmpty && !offloaded, .closing:
            context.read()
        default:
            break
        }
    }

    // MARK: - Commands and client messages

    /// Shutdown, revocations and new sources; `false` when the connection is closing.
    private func takeCommands() -> Bool {
        for command in inbox.take() {
            switch command {
            case .goingAway:
                close(.goingAway, reason: "server shutting down")
                return false
            case .revoked(let message):
                closeRevoked(message)
                return false
            case .sourcesChanged:
                guard let current = currentGrant(), let reader else { continue }
                let selection = SourceSelection(runtime: runtime, grant: current)
                let sources = reader.state.withLock { s -> [SourceHandle]? in
                    let added = s.adopt(selection.newSources(for: s.query, besides: s.sources))
                    return added.isEmpty ? nil : s.sources
                }
                if let sources, let message = recordAccess(reading: sources) {
                    closeRevoked(message)
                    return false
                }
            }
        }
        return true
    }

    private func handle(_ message: ClientMessage) {
        guard case .text(let text) = message else {
            send(runtime.writer.error(code: "bad_message", message: "binary messages are not part of the protocol; send JSON text"))
            return
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(text)
        } catch {
            send(runtime.writer.error(error))
            return
        }
        guard case .object(let members) = value,
            let typeValue = members.first(where: { $0.0 == "type" })?.1, case .string(let type) = typeValue
        else {
            send(runtime.writer.error(code: "bad_message", message: "a message is a JSON object with a \"type\": query, pause or resume"))
            return
        }
        guard let reader else { return }
        switch type {
        case "pause":
            reader.state.withLock { $0.pause() }
        case "resume":
            reader.state.withLock { $0.resume() }
            wake.ring()
        case "query":
            // The grant in force now: a reload may have narrowed or revoked it since the start.
            guard let current = currentGrant() else {
                closeRevoked(ConnectionAccess.Verdict.tokenRevoked.message)
                return
            }
            do {
                let query = try runtime.parser.parse(message: value)
                let doorbell = inbox.doorbell
                let runtime = self.runtime
                // Made under the lock, from Sendable values, so that it can take the old one's place.
                let (sent, dropped, sources, accepted) = try reader.state.withLock {
                    s throws(QueryError) -> (Int, Int, [SourceHandle], Query) in
                    let next = try Self.makeSubscription(runtime, query, paused: s.isPaused, grant: current)
                    // Off the old rings first: the new query may read the same ones.
                    s.unregister(doorbell)
                    next.register(doorbell)
                    let totals = (s.linesSentTotal, s.linesDroppedTotal, next.sources, next.query)
                    s = next
                    return totals
                }
                tally.add(sent: sent, dropped: dropped)
                pendingWork = false
                if let revoked = recordAccess(reading: sources) {
                    closeRevoked(revoked)
                    return
                }
                send(runtime.writer.hello(sources: sources, query: accepted, heartbeatMillis: settings.heartbeatMillis))
                wake.ring()
            } catch {
                runtime.metrics.queriesRejected.increment()
                send(runtime.writer.error(error))
            }
        default:
            send(
                runtime.writer.error(
                    code: "bad_message", message: "unknown message type \(JSONString.quoted(type)); use query, pause or resume"))
        }
    }

    /// Static, from Sendable values only: the new subscription belongs to no one yet and can be
    /// handed to the ``Reader``.
    private static func makeSubscription(
        _ runtime: ServerRuntime, _ query: Query, paused: Bool, grant: TokenTable.Grant
    ) throws(QueryError) -> Subscription {
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

    /// The grant of the connection's token in the table in force now; `nil` when revoked.
    private func currentGrant() -> TokenTable.Grant? {
        guard let credential, let tokens = runtime.tokens else { return .allSources }
        return tokens.grant(for: credential)
    }

    /// The token or a source it reads was revoked by a reload: `unauthorized`, then close 1008.
    private func closeRevoked(_ message: String) {
        logger.notice("closing a WebSocket whose token a reload revoked", metadata: ["reason": "\(message)"])
        send(runtime.writer.error(QueryError(code: "unauthorized", param: "token", message: message)))
        close(.policyViolation, reason: "unauthorized")
    }

    private func reject(_ error: any Error) {
        let e = (error as? QueryError) ?? QueryError(param: nil, message: "\(error)")
        runtime.metrics.queriesRejected.increment()
        logger.info(
            "rejected query",
            metadata: [
                "param": "\(LogText.escaped(e.param ?? "-"))",
                "message": "\(LogText.escaped(e.message))",
            ])
        send(runtime.writer.error(e))
        close(.policyViolation, reason: e.code == "forbidden" ? "forbidden" : "bad query")
    }

    // MARK: - Frames

    /// Writes one text frame (compressed when agreed and worth it).
    private func send(_ payload: ByteBuffer, flush: Bool = true) {
        guard let context else { return }
        var frame = WebSocketFrame(fin: true, opcode: .text, data: payload)
        do {
            if let (data, compressed) = try deflate?.compress(payload) {
                frame.data = data
                frame.rsv1 = compressed
            }
        } catch {
            logger.warning("could not compress a frame; sent as is", metadata: ["error": "\(error)"])
        }
        if flush {
            context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        } else {
            context.write(wrapOutboundOut(frame), promise: nil)
        }
        clock.sent()
        runtime.metrics.framesSent.increment()
        runtime.metrics.bytesSent.increment(by: Int64(payload.readableBytes))
    }

    private func armPing() {
        guard let context else { return }
        let heartbeat = TimeAmount.milliseconds(Int64(settings.heartbeatMillis))
        pingTimer = context.eventLoop.assumeIsolated().scheduleTask(in: heartbeat) { [self] in
            self.pingDue()
        }
    }

    /// A ping every `heartbeat_ms`; a peer that has not answered the last one by then is gone.
    private func pingDue() {
        guard phase == .open, let context else { return }
        if pingPayload != nil {
            close(.goingAway, reason: "Ping timeout", wait: false)
            return
        }
        var payload = context.channel.allocator.buffer(capacity: 8)
        payload.writeInteger(UInt64.random(in: .min ... .max))
        pingPayload = payload
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: payload)), promise: nil)
        armPing()
    }

    /// Starts the closing handshake: a close frame, then the client's close (or 5 s, or at once
    /// when `wait` is false) ends the connection.
    private func close(_ code: WebSocketErrorCode, reason: String? = nil, wait: Bool = true) {
        guard phase == .open || phase == .starting, let context else { return }
        phase = .closing
        pingTimer?.cancel()
        var data = context.channel.allocator.buffer(capacity: 2 + (reason?.utf8.count ?? 0))
        data.write(webSocketErrorCode: code)
        if let reason { data.writeString(reason) }
        let sent = context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)))
        if wait {
            closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(5)) { [self] in
                self.context?.close(promise: nil)
            }
            readMore()
        } else {
            let channel = context.channel
            sent.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// The client's close frame: answered (1000, or 1002 for a malformed one) and the
    /// connection closed; or the answer to ours.
    private func receivedClose(_ payload: ByteBuffer) {
        guard let context else { return }
        switch phase {
        case .starting, .open:
            phase = .closing
            pingTimer?.cancel()
            var data = payload
            var reply = WebSocketErrorCode.normalClosure
            if data.readableBytes == 1 {
                reply = .protocolError
            } else if let code = data.readInteger(as: UInt16.self) {
                let valid = (1000...1003).contains(code) || (1007...1011).contains(code) || (3000...4999).contains(code)
                if !valid || (data.readableBytes > 0 && String(validating: data.readableBytesView, as: UTF8.self) == nil) {
                    reply = .protocolError
                }
            }
            var answer = context.channel.allocator.buffer(capacity: 2)
            answer.write(webSocketErrorCode: reply)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: answer)))
                .whenComplete { _ in channel.close(promise: nil) }
        case .closing:
            context.close(promise: nil)
        case .closed:
            break
        }
    }

    /// A protocol error by the client: a close frame with `code`, and the connection ends.
    private func fail(_ code: WebSocketErrorCode) {
        guard phase != .closed else { return }
        if phase == .closing {
            context?.close(promise: nil)
            return
        }
        close(code, wait: false)
    }
}

extension Connection {
    /// The connection's subscription where a worker thread can poll it. The event loop and a
    /// worker take turns (the connection's `offloaded` flag, set and cleared on the loop, says
    /// whose turn it is); the lock hands each turn's changes to the next.
    final class Reader: Sendable {
        let state: Mutex<Subscription>

        init(_ subscription: consuming sending Subscription) {
            state = Mutex(subscription)
        }
    }

    /// Turns rings from any thread into at most one pending `pump` on the connection's loop.
    final class Wake: Sendable {
        private let scheduled = Atomic<Bool>(false)
        private let target = Mutex<(loop: any EventLoop, connection: NIOLoopBound<Connection>)?>(nil)

        func attach(_ connection: Connection, loop: any EventLoop) {
            target.withLock { $0 = (loop, NIOLoopBound(connection, eventLoop: loop)) }
        }

        func detach() {
            target.withLock { $0 = nil }
        }

        func ring() {
            guard !scheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
            guard let (loop, connection) = target.withLock({ $0 }) else {
                scheduled.store(false, ordering: .releasing)
                return
            }
            loop.execute {
                self.scheduled.store(false, ordering: .releasing)
                connection.value.pump()
            }
        }
    }
}
