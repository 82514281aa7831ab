import NIOCore
import TailcastCore

/// The live WebSocket connections: enforces `max_connections` and drives the 1001 drain.
///
/// Promises: admits at most `limit` connections at once; after ``goAway()`` admits none and
/// tells every live one to close with 1001.
public actor ConnectionHub {
    private let limit: Int
    private var inboxes: [ObjectIdentifier: (inbox: ConnectionInbox, channel: any Channel)] = [:]
    private var draining = false

    init(limit: Int) {
        self.limit = limit
    }

    enum Admission {
        case admitted
        case full
        case shuttingDown
    }

    func admit(_ inbox: ConnectionInbox, channel: any Channel) -> Admission {
        if draining { return .shuttingDown }
        guard inboxes.count < limit else { return .full }
        inboxes[ObjectIdentifier(inbox)] = (inbox, channel)
        return .admitted
    }

    func leave(_ inbox: ConnectionInbox) {
        inboxes[ObjectIdentifier(inbox)] = nil
    }

    /// Number of live connections.
    public var count: Int { inboxes.count }

    /// Admits no more connections and tells every live one to close with 1001.
    public func goAway() {
        draining = true
        for entry in inboxes.values { entry.inbox.post(.goingAway) }
    }

    /// Closes the channels of the connections still open (peers that take no close frame).
    public func closeRemaining() {
        for entry in inboxes.values { entry.channel.close(promise: nil) }
    }
}
