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

/// A connection's inbox: at most one client message, the shutdown flag, and the doorbell that
/// rings, too, when a selected ring gets lines.
///
/// Promises:
/// - ``deliver(_:)`` suspends the inbound task until the sender has taken the previous message,
///   so the server holds at most one client message per connection and reads the next one
///   from the socket only then: TCP pushes back on a client that sends faster than the server
///   answers. Cancellation ends the wait (the message is then discarded).
/// - ``post(_:)`` (shutdown) never blocks and is seen before any queued message.
/// - Every change rings the doorbell once.
final class ConnectionInbox: Sendable {
    let doorbell = Doorbell()

    private struct State {
        var message: ConnectionCommand?
        var goingAway = false
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

    /// Posts a command from outside the connection (shutdown); never blocks.
    func post(_ command: ConnectionCommand) {
        if case .goingAway = command {
            state.withLock { $0.goingAway = true }
        }
        doorbell.ring()
    }

    /// The commands waiting now, shutdown first; frees the message slot and wakes the inbound
    /// task, which may then read the client's next message.
    func take() -> [ConnectionCommand] {
        let (commands, waiter) = state.withLock { s -> ([ConnectionCommand], CheckedContinuation<Void, Never>?) in
            var out: [ConnectionCommand] = []
            if s.goingAway { out.append(.goingAway) }
            if let m = s.message { out.append(m) }
            s.message = nil
            defer { s.deliverer = nil }
            return (out, s.deliverer)
        }
        waiter?.resume()
        return commands
    }
}
