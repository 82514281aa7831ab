import NIOCore
import Synchronization
import TailcastCore

/// Tells a streaming answer that its peer has gone: the peer closed its side (the server keeps
/// half-closed connections open, so a `curl` that exits is otherwise noticed only at a later
/// failed write) or the connection closed. Put first in the pipeline for the answer's time.
///
/// Promises: ``isGone`` only ever turns `true`; each change rings the doorbell once; every
/// event is passed on unchanged.
final class PeerWatch: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    private let doorbell: Doorbell
    private let gone = Atomic<Bool>(false)

    init(doorbell: Doorbell) {
        self.doorbell = doorbell
    }

    var isGone: Bool { gone.load(ordering: .relaxed) }

    private func markGone() {
        if !gone.exchange(true, ordering: .relaxed) { doorbell.ring() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed { markGone() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        markGone()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }
}
