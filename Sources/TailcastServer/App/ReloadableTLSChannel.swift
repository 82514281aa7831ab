import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// A server child channel that puts TLS in front of another one, like HummingbirdTLS's
/// `TLSChannel`, but with the context in force when each connection is accepted: a certificate
/// reloaded on SIGHUP serves the connections that come after, and the open ones keep theirs.
struct ReloadableTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let context: CurrentTLSContext

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let sslContext = context.now
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
