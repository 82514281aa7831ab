import NIOCore
import Synchronization
import TailcastCore

/// The live WebSocket connections: enforces `max_connections`, drives the 1001 drain and the
/// revocations after a tokens reload.
///
/// Promises: admits at most `limit` connections at once; after ``goAway()`` admits none and
/// tells every live one to close with 1001; ``revoke(against:)`` tells exactly the connections
/// the new table no longer allows. Every method is synchronous (one lock, no I/O under it), so
/// a connection's event loop asks it directly.
public final class ConnectionHub: Sendable {
    private let limit: Int
    private let perAddressLimit: Int

    private struct Entry: Sendable {
        let inbox: ConnectionInbox
        let channel: any Channel
        let address: String
    }

    private struct State: Sendable {
        var perAddress: [String: Int] = [:]
        /// Each live connection with the address it was admitted under (captured once: NIO
        /// clears `remoteAddress` when the channel closes).
        var inboxes: [ObjectIdentifier: Entry] = [:]
        var draining = false
    }

    private let state = Mutex(State())

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
        state.withLock { s in
            if s.draining { return .shuttingDown }
            guard s.inboxes.count < limit else { return .full }
            guard s.perAddress[address, default: 0] < perAddressLimit else { return .fullForAddress }
            s.perAddress[address, default: 0] += 1
            s.inboxes[ObjectIdentifier(inbox)] = Entry(inbox: inbox, channel: channel, address: address)
            return .admitted
        }
    }

    /// Releases exactly what ``admit(_:channel:address:)`` took, under the address captured then.
    func leave(_ inbox: ConnectionInbox) {
        state.withLock { s in
            if let entry = s.inboxes.removeValue(forKey: ObjectIdentifier(inbox)) {
                let n = s.perAddress[entry.address, default: 1] - 1
                s.perAddress[entry.address] = n > 0 ? n : nil
            }
        }
    }

    /// Number of live connections.
    public var count: Int { state.withLock { $0.inboxes.count } }

    /// The live connections' inboxes, read under the lock and used outside it.
    private var entries: [Entry] { state.withLock { Array($0.inboxes.values) } }

    /// Admits no more connections and tells every live one to close with 1001.
    public func goAway() {
        state.withLock { $0.draining = true }
        for entry in entries { entry.inbox.post(.goingAway) }
    }

    /// After a tokens reload: tells every live connection whose token `table` no longer lists,
    /// or whose grant no longer covers a source it reads, to send `unauthorized` and close with
    /// 1008; the others are not touched. Returns how many were told.
    @discardableResult
    func revoke(against table: TokenTable) -> Int {
        var told = 0
        for entry in entries {
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
        for entry in entries { entry.inbox.post(.sourcesChanged) }
    }

    /// Closes the channels of the connections still open (peers that take no close frame).
    public func closeRemaining() {
        for entry in entries { entry.channel.close(promise: nil) }
    }
}
