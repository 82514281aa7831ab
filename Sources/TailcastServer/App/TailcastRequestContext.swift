import Hummingbird
import NIOCore
import TailcastCore

/// The request context of every route: Hummingbird's core storage and the channel, so that a
/// stuck follow stream can be closed from outside.
public struct TailcastRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection's channel.
    public let channel: any Channel
    /// What the request's token may read; set by ``TokenMiddleware`` (all sources when auth
    /// is off or the route needs no token).
    public var grant: TokenTable.Grant = .allSources
    /// The request's token as remembered for a later check (a tokens reload); set by
    /// ``TokenMiddleware``, `nil` when auth is off or the route needs no token.
    public var credential: TokenTable.Credential?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
