import NIOSSL
import Synchronization

/// The TLS context new connections are served with: loaded from `[tls]` at start and again on
/// SIGHUP (a renewed certificate), always with ``TailcastServer/hardened(_:)`` settings.
///
/// Promises: a connection takes the context in force when it is accepted and keeps it for its
/// whole life; ``replace(with:)`` affects only connections accepted afterwards.
public final class CurrentTLSContext: Sendable {
    private let context: Mutex<NIOSSLContext>

    init(_ context: NIOSSLContext) {
        self.context = Mutex(context)
    }

    /// The context in force now.
    var now: NIOSSLContext { context.withLock { $0 } }

    /// Puts `new` in force for the connections accepted from now on.
    func replace(with new: NIOSSLContext) {
        context.withLock { $0 = new }
    }
}
