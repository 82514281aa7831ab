import HummingbirdCore
import Logging
import NIOCore
import TailcastCore

/// The first handler of every connection: the request head (upgrade or HTTP) must be complete
/// within `timeout` and within `maxHeadBytes` (however it arrives: in pieces or in one read),
/// else the connection is closed (slowloris) or answered `431` and closed (oversized headers);
/// a head whose `Host` the ``HostPolicy`` refuses is answered `421` and closed before anything
/// else sees it (this covers WebSocket upgrades, which Hummingbird could only refuse with 400).
/// Removes itself once the head is complete; later requests on a keep-alive connection are
/// checked by ``HostMiddleware``.
final class HandshakeGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let maxHeadBytes: Int
    private let logger: Logger
    private let onReject: @Sendable () -> Void
    private let hosts: HostPolicy
    /// The head's bytes so far (at most `maxHeadBytes`), for the `Host` check.
    private var head: [UInt8] = []
    private var seen = 0
    private var tail: UInt32 = 0
    private var timer: Scheduled<Void>?
    private var done = false

    init(timeout: TimeAmount, maxHeadBytes: Int, hosts: HostPolicy, logger: Logger, onReject: @escaping @Sendable () -> Void) {
        self.onReject = onReject
        self.hosts = hosts
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
            let upTo = end.map { $0 + 1 } ?? bytes.count
            if head.count + upTo <= maxHeadBytes {
                head.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<upTo]))
            }
        }
        seen += end.map { $0 + 1 } ?? buffer.readableBytes
        // The bound holds whether the head came in pieces or in one read.
        if seen > maxHeadBytes {
            refuse(context, status: "431 Request Header Fields Too Large",
                   reason: "refusing a request head over \(maxHeadBytes) bytes")
            return
        }
        if end != nil, !hosts.allows(hostHeader: RequestHead.host(in: head)) {
            refuse(context, status: "421 Misdirected Request",
                   body: #"{"error":"misdirected","message":"this server does not answer for that Host; add it to [server] allowed_hosts"}"#,
                   reason: "refusing a request for a Host that is not allowed (DNS rebinding?)")
            return
        }
        context.fireChannelRead(data)
        if end != nil {
            done = true
            head = []
            timer?.cancel()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    private func refuse(_ context: ChannelHandlerContext, status: String, body: String = "", reason: String) {
        done = true
        head = []
        timer?.cancel()
        onReject()
        logger.notice("\(reason)")
        var response = context.channel.allocator.buffer(capacity: 256 + body.utf8.count)
        response.writeString("HTTP/1.1 \(status)\r\nConnection: close\r\nContent-Type: application/json\r\n"
                             + "Cache-Control: no-store\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(NIOAny(response)).assumeIsolated().whenComplete { _ in
            loopBound.value.close(promise: nil)
        }
    }
}

/// Reads what the guard needs from a raw HTTP/1 request head.
enum RequestHead {
    /// The value of the `Host` header; `nil` when there is none; `"\u{0}"` (never allowed) when
    /// there are several, which a proxy and this server could read differently.
    static func host(in head: [UInt8]) -> String? {
        var found: String?
        var lineStart = 0
        var first = true
        var i = 0
        while i + 1 < head.count {
            if head[i] == 0x0D, head[i + 1] == 0x0A {
                if !first, i > lineStart, let value = headerValue(head[lineStart..<i], name: "host") {
                    if found != nil { return "\u{0}" }
                    found = value
                }
                first = false
                lineStart = i + 2
                i += 2
                continue
            }
            i += 1
        }
        return found
    }

    private static func headerValue(_ line: ArraySlice<UInt8>, name: String) -> String? {
        guard let colon = line.firstIndex(of: 0x3A) else { return nil }
        let key = line[line.startIndex..<colon]
        guard key.count == name.utf8.count,
              zip(key, name.utf8).allSatisfy({ ($0 | 0x20) == $1 }) else { return nil }
        return String(decoding: line[(colon + 1)...], as: UTF8.self)
    }
}

/// A server child channel that puts a ``HandshakeGuard`` in front of another one.
struct GuardedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let timeout: TimeAmount
    let maxHeadBytes: Int
    let hosts: HostPolicy
    let onReject: @Sendable () -> Void

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let guardHandler = HandshakeGuard(timeout: timeout, maxHeadBytes: maxHeadBytes, hosts: hosts, logger: logger, onReject: onReject)
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
