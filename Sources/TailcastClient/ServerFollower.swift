import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import WSClient

/// Follows one server: performs the ``ReconnectMachine``'s actions with a WebSocket client and
/// turns what arrives into output.
///
/// Promises: one connection at a time; lines go to stdout through ``LineRenderer`` only after
/// the machine admitted them (no duplicate), one frame at a time (reading waits while stdout
/// is behind); `dropped`, events and notices go to stderr; `run()` returns only the exit code
/// the machine chose (1 or 2), or 0 when cancelled.
final class ServerFollower: Sendable {
    let address: ServerAddress
    let options: TailOptions
    let output: TerminalOutput
    /// `host:port` in notices and line prefixes when several servers are followed.
    let label: String?
    private let machine: Mutex<ReconnectMachine>
    private let renderer: Mutex<LineRenderer>
    private let logger = Logger(label: "tailcast.tail", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The largest frame and message accepted (the server's `max_frame_bytes` is at most 16 MiB).
    static let maxMessageBytes = 32 << 20

    init(address: ServerAddress, options: TailOptions, output: TerminalOutput, several: Bool) {
        self.address = address
        self.options = options
        self.output = output
        self.label = several ? address.label : nil
        self.machine = Mutex(ReconnectMachine(server: address.label, retryFor: options.retryFor, now: .now))
        let style: OutputStyle = options.json ? .json : .text(color: options.color, escapeControls: TerminalOutput.stdoutIsTerminal)
        self.renderer = Mutex(
            LineRenderer(
                style: style, server: several ? address.label : nil, showSource: several,
                groupSeparators: options.wantsContext))
    }

    func run() async -> Int32 {
        var actions = machine.withLock { $0.start(now: .now) }
        while !Task.isCancelled {
            var next: [ReconnectMachine.Action] = []
            for action in actions {
                switch action {
                case .notice(let notice):
                    output.err(notice.text(server: label))
                case .wait(let duration):
                    try? await Task.sleep(for: duration)
                case .exit(let code, let message):
                    output.err(message)
                    return code
                case .connect(let since):
                    let ending = await connect(since: since)
                    if Task.isCancelled { return 0 }
                    next = machine.withLock { $0.ended(ending, now: .now) }
                }
            }
            actions = next
        }
        return 0
    }

    /// One connection, from the attempt to its end, under a watchdog: an attempt that brings no
    /// envelope within ``answerTimeout`` (or, once greeted, nothing for two heartbeats plus
    /// that) is abandoned as unanswered, so a stuck connection costs seconds, never forever.
    private func connect(since: [ResumePoint]) async -> ReconnectMachine.Ending {
        let watch = ConnectionWatch()
        return await withTaskGroup(of: ReconnectMachine.Ending?.self) { group in
            group.addTask { await self.attempt(since: since, watch: watch) }
            group.addTask {
                while !Task.isCancelled {
                    switch watch.verdict(answerTimeout: Self.answerTimeout) {
                    case .overdue(let silence):
                        return .closed(code: nil, reason: "no answer from the server for \(Notice.seconds(silence))")
                    case .wait(let left):
                        try? await Task.sleep(for: left)
                    }
                }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .closed(code: nil, reason: "")
        }
    }

    /// How long a server may take to answer a connection, and the slack on its heartbeats.
    static let answerTimeout: Duration = .seconds(5)

    private func attempt(since: [ResumePoint], watch: ConnectionWatch) async -> ReconnectMachine.Ending {
        let url = address.webSocketURL(query: TailQuery(options).queryString(since: since))
        var configuration = WebSocketClientConfiguration(
            maxFrameSize: Self.maxMessageBytes, closeTimeout: .seconds(2),
            autoPing: .enabled(timePeriod: .seconds(30)))
        if let token = options.token {
            configuration.additionalHeaders = [.authorization: "Bearer \(token)"]
        }
        let opened = Atomic<Bool>(false)
        do {
            let close = try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, _, _ in
                opened.store(true, ordering: .relaxed)
                for try await message in inbound.messages(maxSize: Self.maxMessageBytes) {
                    watch.heard()
                    if case .text(let text) = message { await self.receive(Array(text.utf8), watch: watch) }
                }
            }
            guard let close else { return .closed(code: nil, reason: "") }
            return .closed(code: Self.number(close.closeCode), reason: close.reason ?? "")
        } catch {
            let reason = Self.describe(error)
            return opened.load(ordering: .relaxed) ? .closed(code: nil, reason: reason) : .failed(reason: reason)
        }
    }

    /// Handles one envelope.
    private func receive(_ bytes: [UInt8], watch: ConnectionWatch) async {
        let message: ServerMessage
        do {
            message = try ServerMessage.decode(bytes)
        } catch {
            output.err("tailcast tail: \(label.map { "\($0): " } ?? "")ignoring a message that is not a tailcast envelope")
            return
        }
        switch message {
        case .lines(let lines):
            let kept = machine.withLock { $0.admit(lines) }
            guard !kept.isEmpty else { return }
            var out: [UInt8] = []
            out.reserveCapacity(kept.count * 128)
            renderer.withLock { $0.render(kept, into: &out) }
            await output.out(out)
        case .hello(let hello):
            watch.greeted(heartbeatMillis: hello.heartbeatMillis ?? 15_000)
            let several = label != nil
            renderer.withLock { $0.showSource = several || hello.sources.count > 1 }
            for case .notice(let notice) in machine.withLock({ $0.hello(hello, now: .now) }) {
                output.err(notice.text(server: label))
            }
        case .dropped(let dropped):
            output.err(Notice.dropped(dropped).text(server: label))
        case .event(let source, let event, let detail):
            output.err(Notice.event(source: source, event: event, detail: detail).text(server: label))
        case .error(let error):
            machine.withLock { $0.serverError(error) }
            if !ReconnectMachine.refusals.contains(error.code) {
                output.err(Notice.serverError(error).text(server: label))
            }
        case .heartbeat, .other:
            break
        }
    }

    static func number(_ code: WebSocketErrorCode) -> Int? {
        var buffer = ByteBuffer()
        buffer.write(webSocketErrorCode: code)
        return buffer.readInteger(as: UInt16.self).map(Int.init)
    }

    /// A short reason for a failed connection, in a user's words.
    static func describe(_ error: any Error) -> String {
        if let e = error as? WebSocketClientError {
            if e == .webSocketUpgradeFailed { return "the server declined the WebSocket upgrade: wrong URL or base path?" }
            return e.description
        }
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("connectTimeout") { return "connection timed out" }
        return text
    }
}
