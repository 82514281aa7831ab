import HummingbirdCore
import Logging
import NIOCore

/// The first handler of every connection: the request head (upgrade or HTTP) must be complete
/// within `timeout` and within `maxHeadBytes`, else the connection is closed (slowloris) or
/// answered `431` and closed (oversized headers). Removes itself once the head is complete.
final class HandshakeGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let maxHeadBytes: Int
    private let logger: Logger
    private let onReject: @Sendable () -> Void
    private var seen = 0
    private var tail: UInt32 = 0
    private var timer: Scheduled<Void>?
    private var done = false

    init(timeout: TimeAmount, maxHeadBytes: Int, logger: Logger, onReject: @escaping @Sendable () -> Void) {
        self.onReject = onReject
        self.timeout = timeout
        self.maxHeadBytes = maxHeadBytes
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let logger = self.logger
        let onReject = self.onReject
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            guard !self.done else { return }
            onReject()
            logger.notice("closing a connection that did not finish its request head in time")
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else {
            context.fireChannelRead(data)
            return
        }
        let buffer = unwrapInboundIn(data)
        logger.trace("request head bytes", metadata: ["read": "\(buffer.readableBytes)", "seen": "\(seen)"])
        var end: Int?
        buffer.withUnsafeReadableBytes { bytes in
            for (i, b) in bytes.enumerated() {
                tail = (tail << 8) | UInt32(b)
                if tail == 0x0D0A_0D0A {
                    end = i
                    break
                }
            }
        }
        seen += end.map { $0 + 1 } ?? buffer.readableBytes
        if end == nil, seen > maxHeadBytes {
            done = true
            onReject()
            logger.notice("refusing a request head over \(maxHeadBytes) bytes")
            var response = context.channel.allocator.buffer(capacity: 128)
            response.writeString("HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(NIOAny(response)).assumeIsolated().whenComplete { _ in
                loopBound.value.close(promise: nil)
            }
            return
        }
        context.fireChannelRead(data)
        if end != nil {
            done = true
            timer?.cancel()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}

/// A server child channel that puts a ``HandshakeGuard`` in front of another one.
struct GuardedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let timeout: TimeAmount
    let maxHeadBytes: Int
    let onReject: @Sendable () -> Void

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let guardHandler = HandshakeGuard(timeout: timeout, maxHeadBytes: maxHeadBytes, logger: logger, onReject: onReject)
        do {
            // After a TLS handler when there is one (it sees the decrypted bytes), before HTTP.
            try channel.pipeline.syncOperations.addHandler(guardHandler, position: .last)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
