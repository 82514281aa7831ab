import TailcastCore

/// The live WebSocket connections: enforces `max_connections` and drives the 1001 drain.
///
/// Promises: admits at most `limit` connections at once; after ``goAway()`` admits none and
/// tells every live one to close with 1001.
public actor ConnectionHub {
    private let limit: Int
    private var inboxes: [ObjectIdentifier: ConnectionInbox] = [:]
    private var draining = false

    init(limit: Int) {
        self.limit = limit
    }

    enum Admission {
        case admitted
        case full
        case shuttingDown
    }

    func admit(_ inbox: ConnectionInbox) -> Admission {
        if draining { return .shuttingDown }
        guard inboxes.count < limit else { return .full }
        inboxes[ObjectIdentifier(inbox)] = inbox
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
        for inbox in inboxes.values { inbox.post(.goingAway) }
    }
}
