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
    /// A reload of the tokens file took away the connection's token, or a source it reads:
    /// send the `unauthorized` error with this message and close with 1008.
    case revoked(String)
    /// Sources appeared (another host joined the bus): a query by glob, or of every source,
    /// takes in those it matches.
    case sourcesChanged
}

/// A connection's inbox: at most one client message, the shutdown and revocation flags, the
/// connection's token and sources (for the check after a tokens reload), and the doorbell that
/// rings, too, when a selected ring gets lines.
///
/// Promises:
/// - ``deliver(_:)`` suspends the inbound task until the sender has taken the previous message,
///   so the server holds at most one client message per connection and reads the next one
///   from the socket only then: TCP pushes back on a client that sends faster than the server
///   answers. Cancellation ends the wait (the message is then discarded).
/// - ``post(_:)`` (shutdown, revocation) never blocks and is seen before any queued message;
///   shutdown comes first.
/// - Every change rings the doorbell once.
final class ConnectionInbox: Sendable {
    let doorbell = Doorbell()

    private struct State {
        var message: ConnectionCommand?
        var goingAway = false
        var revoked: String?
        var sourcesChanged = false
        var access: ConnectionAccess?
        /// The inbound task, waiting for the slot to be free.
        var deliverer: CheckedContinuation<Void, Never>?
        var cancelled = false
    }

    private let state = Mutex(State())

    /// Hands one client message to the sender; returns once the sender has taken it, or at
    /// cancellation.
    func deliver(_ command: ConnectionCommand) async {
        let placed = state.withLock { s -> Bool in
            guard s.message == nil else { return false }
            s.message = command
            return true
        }
        if placed {
            doorbell.ring()
            await waitUntilTaken()
            return
        }
        // The slot is taken (cannot happen with one inbound task, which always waits for it).
        await waitUntilTaken()
        await deliver(command)
    }

    private func waitUntilTaken() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.message == nil || s.cancelled || Task.isCancelled { return true }
                    s.deliverer = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                s.cancelled = true
                defer { s.deliverer = nil }
                return s.deliverer
            }
            waiter?.resume()
        }
    }

    /// Posts a command from outside the connection (shutdown, revocation, new sources); never
    /// blocks.
    func post(_ command: ConnectionCommand) {
        switch command {
        case .goingAway: state.withLock { $0.goingAway = true }
        case .revoked(let message): state.withLock { if $0.revoked == nil { $0.revoked = message } }
        case .sourcesChanged: state.withLock { $0.sourcesChanged = true }
        case .message, .binary: break
        }
        doorbell.ring()
    }

    /// The token the connection was let in with and the sources it reads now; `nil` while
    /// auth is off or the connection has not been let in yet.
    var access: ConnectionAccess? {
        get { state.withLock { $0.access } }
        set { state.withLock { $0.access = newValue } }
    }

    /// The commands waiting now, shutdown first; frees the message slot and wakes the inbound
    /// task, which may then read the client's next message.
    func take() -> [ConnectionCommand] {
        let (commands, waiter) = state.withLock { s -> ([ConnectionCommand], CheckedContinuation<Void, Never>?) in
            var out: [ConnectionCommand] = []
            if s.goingAway { out.append(.goingAway) }
            if let r = s.revoked { out.append(.revoked(r)) }
            if s.sourcesChanged { out.append(.sourcesChanged) }
            s.sourcesChanged = false
            if let m = s.message { out.append(m) }
            s.message = nil
            defer { s.deliverer = nil }
            return (out, s.deliverer)
        }
        waiter?.resume()
        return commands
    }
}
