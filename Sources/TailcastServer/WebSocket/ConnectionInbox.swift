import Synchronization
import TailcastCore

/// What reaches a connection's sender from outside it.
enum ConnectionCommand: Sendable {
    /// A text message from the client, to be parsed by the sender.
    case message(String)
    /// A binary message (not part of the protocol).
    case binary
    /// The server is shutting down: close with 1001.
    case goingAway
}

/// A connection's inbox: commands from the inbound task and the hub, plus the doorbell that
/// rings, too, when a selected ring gets lines.
///
/// Promises: posting never blocks and rings the doorbell once; the sender takes every queued
/// command at once, in order. The queue is bounded by the inbound side, which reads at most
/// one message ahead of the sender (the library's inbound buffer bounds the rest).
final class ConnectionInbox: Sendable {
    let doorbell = Doorbell()
    private let queue = Mutex<[ConnectionCommand]>([])

    func post(_ command: ConnectionCommand) {
        queue.withLock { $0.append(command) }
        doorbell.ring()
    }

    func take() -> [ConnectionCommand] {
        queue.withLock { q in
            let all = q
            q.removeAll()
            return all
        }
    }
}
