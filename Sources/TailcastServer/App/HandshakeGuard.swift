import Foundation
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
    /// The first head is complete (the slowloris timer is off from then on).
    private var firstHeadDone = false
    /// Body bytes of the current request still to pass before the next head.
    private var bodyRemaining = 0

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
            guard !self.done, !self.firstHeadDone else { return }
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
        logger.trace("request bytes", metadata: ["read": "\(buffer.readableBytes)", "seen": "\(seen)"])
        // Every head of the connection is checked, not only the first: bodies are skipped by
        // their Content-Length; after an upgrade (or a chunked body) the guard steps aside.
        var verdict = Verdict.pass
        buffer.withUnsafeReadableBytes { bytes in
            var i = 0
            while i < bytes.count, verdict == .pass {
                if bodyRemaining > 0 {
                    let n = min(bodyRemaining, bytes.count - i)
                    bodyRemaining -= n
                    i += n
                    continue
                }
                let from = i
                var end: Int?
                while i < bytes.count {
                    tail = (tail << 8) | UInt32(bytes[i])
                    i += 1
                    if tail == 0x0D0A_0D0A {
                        end = i
                        break
                    }
                }
                seen += i - from
                if head.count + (i - from) <= maxHeadBytes {
                    head.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[from..<i]))
                }
                // The bound holds whether the head came in pieces or in one read.
                if seen > maxHeadBytes {
                    verdict = .tooLarge
                    break
                }
                guard end != nil else { break }
                let fields = RequestHead(head)
                if !hosts.allows(hostHeader: fields.host) {
                    verdict = .misdirected
                    break
                }
                firstHeadDone = true
                head.removeAll(keepingCapacity: true)
                seen = 0
                tail = 0
                if fields.upgrade || fields.chunked {
                    verdict = .stepAside
                    break
                }
                bodyRemaining = fields.contentLength
            }
        }
        switch verdict {
        case .tooLarge:
            refuse(context, status: "431 Request Header Fields Too Large", reason: "refusing a request head over \(maxHeadBytes) bytes")
        case .misdirected:
            refuse(
                context, status: "421 Misdirected Request",
                body: #"{"error":"misdirected","message":"this server does not answer for that Host; add it to [server] allowed_hosts"}"#,
                reason: "refusing a request for a Host that is not allowed (DNS rebinding?)")
        case .pass, .stepAside:
            if firstHeadDone { timer?.cancel() }
            context.fireChannelRead(data)
            if verdict == .stepAside {
                done = true
                head = []
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            }
        }
    }

    private enum Verdict { case pass, tooLarge, misdirected, stepAside }

    private func refuse(_ context: ChannelHandlerContext, status: String, body: String = "", reason: String) {
        done = true
        head = []
        timer?.cancel()
        onReject()
        logger.notice("\(reason)")
        var response = context.channel.allocator.buffer(capacity: 256 + body.utf8.count)
        response.writeString(
            "HTTP/1.1 \(status)\r\nConnection: close\r\nContent-Type: application/json\r\n"
                + "Cache-Control: no-store\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(NIOAny(response)).assumeIsolated().whenComplete { _ in
            loopBound.value.close(promise: nil)
        }
    }
}

/// What the guard needs from a raw HTTP/1 request head.
struct RequestHead {
    /// The `Host` value; `nil` when there is none; `"\u{0}"` (never allowed) when there are
    /// several, which a proxy and this server could read differently.
    var host: String?
    var contentLength = 0
    var chunked = false
    /// An `Upgrade` header (WebSocket): after this head the bytes are not HTTP any more.
    var upgrade = false

    init(_ head: [UInt8]) {
        var lineStart = 0
        var first = true
        var i = 0
        while i + 1 < head.count {
            if head[i] == 0x0D, head[i + 1] == 0x0A {
                if !first, i > lineStart { take(head[lineStart..<i]) }
                first = false
                lineStart = i + 2
                i += 2
                continue
            }
            i += 1
        }
    }

    private mutating func take(_ line: ArraySlice<UInt8>) {
        guard let colon = line.firstIndex(of: 0x3A) else { return }
        let key = line[line.startIndex..<colon]
        let value = String(decoding: line[(colon + 1)...], as: UTF8.self)
        if Self.is(key, "host") {
            host = host == nil ? value : "\u{0}"
        } else if Self.is(key, "content-length") {
            contentLength = max(contentLength, Int(value.trimmingCharacters(in: .whitespaces)) ?? 0)
        } else if Self.is(key, "transfer-encoding") {
            chunked = true
        } else if Self.is(key, "upgrade") {
            upgrade = true
        }
    }

    private static func `is`(_ key: ArraySlice<UInt8>, _ name: String) -> Bool {
        key.count == name.utf8.count && zip(key, name.utf8).allSatisfy { ($0 | 0x20) == $1 }
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
