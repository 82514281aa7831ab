import NIOCore
import TailcastCore

/// The live WebSocket connections: enforces `max_connections`, drives the 1001 drain and the
/// revocations after a tokens reload.
///
/// Promises: admits at most `limit` connections at once; after ``goAway()`` admits none and
/// tells every live one to close with 1001; ``revoke(against:)`` tells exactly the connections
/// the new table no longer allows.
public actor ConnectionHub {
    private let limit: Int
    private let perAddressLimit: Int
    private var perAddress: [String: Int] = [:]
    /// Each live connection with the address it was admitted under (captured once: NIO
    /// clears `remoteAddress` when the channel closes).
    private var inboxes: [ObjectIdentifier: (inbox: ConnectionInbox, channel: any Channel, address: String)] = [:]
    private var draining = false

    init(limit: Int, perAddressLimit: Int) {
        self.limit = limit
        self.perAddressLimit = perAddressLimit
    }

    /// The per-address key of a channel, read once at admission.
    static func address(of channel: any Channel) -> String {
        channel.remoteAddress?.ipAddress ?? "?"
    }

    enum Admission {
        case admitted
        case full
        case fullForAddress
        case shuttingDown

        /// The `error` a refused client gets (WebSocket before close 1013, `/api/lines` with
        /// 503); `nil` when admitted. One wording for both ways in.
        func refusal(_ settings: ServerSettings) -> QueryError? {
            switch self {
            case .admitted:
                nil
            case .full:
                QueryError(
                    code: "too_many_connections", param: nil,
                    message: "the server has reached max_connections (\(settings.maxConnections)); try again later")
            case .fullForAddress:
                QueryError(
                    code: "too_many_connections", param: nil,
                    message:
                        "this address has reached max_connections_per_address (\(settings.maxConnectionsPerAddress)); try again later")
            case .shuttingDown:
                QueryError(code: "shutting_down", param: nil, message: "the server is shutting down; reconnect with since")
            }
        }
    }

    /// Admits a connection from `address` (captured by the caller when the connection began).
    func admit(_ inbox: ConnectionInbox, channel: any Channel, address: String) -> Admission {
        if draining { return .shuttingDown }
        guard inboxes.count < limit else { return .full }
        guard perAddress[address, default: 0] < perAddressLimit else { return .fullForAddress }
        perAddress[address, default: 0] += 1
        inboxes[ObjectIdentifier(inbox)] = (inbox, channel, address)
        return .admitted
    }

    /// Releases exactly what ``admit(_:channel:address:)`` took, under the address captured then.
    func leave(_ inbox: ConnectionInbox) {
        if let entry = inboxes.removeValue(forKey: ObjectIdentifier(inbox)) {
            let n = perAddress[entry.address, default: 1] - 1
            perAddress[entry.address] = n > 0 ? n : nil
        }
    }

    /// Number of live connections.
    public var count: Int { inboxes.count }

    /// Admits no more connections and tells every live one to close with 1001.
    public func goAway() {
        draining = true
        for entry in inboxes.values { entry.inbox.post(.goingAway) }
    }

    /// After a tokens reload: tells every live connection whose token `table` no longer lists,
    /// or whose grant no longer covers a source it reads, to send `unauthorized` and close with
    /// 1008; the others are not touched. Returns how many were told.
    @discardableResult
    func revoke(against table: TokenTable) -> Int {
        var told = 0
        for entry in inboxes.values {
            guard let access = entry.inbox.access else { continue }
            let verdict = access.check(against: table)
            guard verdict != .allowed else { continue }
            entry.inbox.post(.revoked(verdict.message))
            told += 1
        }
        return told
    }

    /// Tells every live connection that sources appeared (see ``ConnectionCommand/sourcesChanged``).
    public func sourcesChanged() {
        for entry in inboxes.values { entry.inbox.post(.sourcesChanged) }
    }

    /// Closes the channels of the connections still open (peers that take no close frame).
    public func closeRemaining() {
        for entry in inboxes.values { entry.channel.close(promise: nil) }
    }
}
