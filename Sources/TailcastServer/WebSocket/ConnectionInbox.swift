import Synchronization
import TailcastCore

/// What reaches a connection from outside it (the hub, a reload, the bus).
enum ConnectionCommand: Sendable, Equatable {
    /// The server is shutting down: close with 1001.
    case goingAway
    /// A reload of the tokens file took away the connection's token, or a source it reads:
    /// send the `unauthorized` error with this message and close with 1008.
    case revoked(String)
    /// Sources appeared (another host joined the bus): a query by glob, or of every source,
    /// takes in those it matches.
    case sourcesChanged
}

/// A connection's inbox: the shutdown and revocation flags, the connection's token and sources
/// (for the check after a tokens reload), and the doorbell that rings, too, when a selected
/// ring gets lines.
///
/// Promises: ``post(_:)`` never blocks and rings the doorbell once; ``take()`` returns
/// shutdown first, then a revocation, then new sources, each at most once per post.
final class ConnectionInbox: Sendable {
    let doorbell: Doorbell

    private struct State {
        var goingAway = false
        var revoked: String?
        var sourcesChanged = false
        var access: ConnectionAccess?
    }

    private let state = Mutex(State())

    /// - Parameter onRing: called on every ring of the doorbell, from any thread (a WebSocket
    ///   schedules its event loop's work with it).
    init(onRing: (@Sendable () -> Void)? = nil) {
        doorbell = Doorbell(onRing: onRing)
    }

    /// Posts a command from outside the connection; never blocks.
    func post(_ command: ConnectionCommand) {
        switch command {
        case .goingAway: state.withLock { $0.goingAway = true }
        case .revoked(let message): state.withLock { if $0.revoked == nil { $0.revoked = message } }
        case .sourcesChanged: state.withLock { $0.sourcesChanged = true }
        }
        doorbell.ring()
    }

    /// The token the connection was let in with and the sources it reads now; `nil` while
    /// auth is off or the connection has not been let in yet.
    var access: ConnectionAccess? {
        get { state.withLock { $0.access } }
        set { state.withLock { $0.access = newValue } }
    }

    /// The commands waiting now, shutdown first.
    func take() -> [ConnectionCommand] {
        state.withLock { s in
            var out: [ConnectionCommand] = []
            if s.goingAway { out.append(.goingAway) }
            if let r = s.revoked { out.append(.revoked(r)) }
            if s.sourcesChanged { out.append(.sourcesChanged) }
            s.sourcesChanged = false
            return out
        }
    }
}
