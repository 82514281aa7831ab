import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWebSocket
import Logging
import Synchronization

@testable import TailcastCore
@testable import TailcastServer

/// A server for one test: file sources that need not exist (nothing is followed unless a test
/// starts the supervisor), optional tokens written to a temporary tokens file.
struct TestServer: Sendable {
    let server: TailcastServer
    let supervisor: SourceSupervisor
    /// The tokens file, when the server has `[auth]`.
    let tokensFile: URL?

    var runtime: ServerRuntime { server.runtime }

    /// - Parameters:
    ///   - sources: source names (files under a directory that does not exist).
    ///   - tokens: the tokens file's text; `nil` for no `[auth]`.
    ///   - configure: changes to `[server]` (port 0 and a 2 s heartbeat are set already).
    init(sources: [String] = ["app"], tokens: String? = nil, configure: (inout ServerSettings) -> Void = { _ in }) throws {
        var config = Config()
        config.server.port = 0
        config.server.heartbeatMillis = 2000
        configure(&config.server)
        for name in sources {
            config.sources.append(
                SourceConfig(
                    name: name, kind: .file, path: "/nonexistent/tailcast-test/\(name).log",
                    limits: SourceLimits(), line: 0))
        }
        var table: TokenTable?
        if let tokens {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("tailcast-tokens-\(UUID().uuidString)")
            try tokens.write(to: file, atomically: true, encoding: .utf8)
            config.auth = AuthSettings(tokensFile: file.path)
            table = try TokenTable.load(path: file.path)
            tokensFile = file
        } else {
            tokensFile = nil
        }
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        server = try TailcastServer(config: config, logger: logger, tokens: table)
        supervisor = try SourceSupervisor(runtime: server.runtime)
    }

    func application() -> some ApplicationProtocol {
        server.application(supervisor: supervisor)
    }

    /// Runs `body` against the server listening on a free port (HummingbirdTesting `.live`).
    func live(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await application().test(.live) { client in try await body(client) }
    }

    /// Rewrites the tokens file and applies it as SIGHUP does.
    func reloadTokens(_ text: String) async throws {
        guard let tokensFile else { return }
        try text.write(to: tokensFile, atomically: true, encoding: .utf8)
        await ConfigReloader(runtime: runtime, supervisor: supervisor, load: nil).reloadTokens()
    }

    func removeFiles() {
        if let tokensFile { try? FileManager.default.removeItem(at: tokensFile) }
    }
}

/// Envelopes read from a WebSocket, as JSON objects; heartbeats are skipped.
///
/// Bounded: throws ``Silence`` after `maxHeartbeats` heartbeats (2 s apart on a ``TestServer``)
/// without what the test waits for, so a test whose server never sends it, or never closes,
/// fails instead of hanging.
struct EnvelopeReader {
    var iterator: WebSocketInboundMessageStream.AsyncIterator
    var maxHeartbeats = 5

    struct Silence: Error {}

    init(_ inbound: WebSocketInboundStream) {
        iterator = inbound.messages(maxSize: 1 << 24).makeAsyncIterator()
    }

    /// The next envelope other than a heartbeat; `nil` when the connection closed.
    mutating func next() async throws -> [String: Any]? {
        var heartbeats = 0
        while let message = try await iterator.next() {
            guard case .text(let text) = message,
                let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            else { continue }
            if object["type"] as? String == "heartbeat" {
                heartbeats += 1
                if heartbeats >= maxHeartbeats { throw Silence() }
                continue
            }
            return object
        }
        return nil
    }

    /// Reads until the server closes.
    mutating func drain() async throws {
        var messages = 0
        while try await iterator.next() != nil {
            messages += 1
            if messages >= maxHeartbeats { throw Silence() }
        }
    }
}

/// A one-way signal between the tasks of a test: ``wait()`` returns once ``open()`` was called,
/// or throws after the deadline.
final class Gate: Sendable {
    private let isOpen = Atomic(false)

    struct TimedOut: Error {}

    func open() { isOpen.store(true, ordering: .releasing) }

    func wait(upTo deadline: Duration = .seconds(10)) async throws {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: deadline)
        while !isOpen.load(ordering: .acquiring) {
            guard clock.now < end else { throw TimedOut() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// The port a server listens on, once it does: set from `onServerRunning`, awaited by the test.
final class ListeningPort: Sendable {
    private let port = Mutex<Int?>(nil)

    func set(_ value: Int?) { port.withLock { $0 = value } }

    func wait(upTo deadline: Duration = .seconds(20)) async throws -> Int {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: deadline)
        while true {
            if let p = port.withLock({ $0 }) { return p }
            guard clock.now < end else { throw Gate.TimedOut() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
