/// The life of `tailcast tail`'s connection to one server, as decisions: when to connect, what
/// `since` to send, how long to wait, when to give up and with which exit code.
///
/// The owner performs the actions it returns (connect, wait, print a notice, exit) and reports
/// back what happened (`hello`, lines, an `error` envelope, the end of a connection). Time is
/// passed in, so every case is a unit test without a socket or a clock.
///
/// Promises:
/// - every connection after the first sends `since` for every source seen, so a reconnect loses
///   and repeats nothing the server still holds; lines at or below the last one shown are
///   refused (``admit(_:)``), whatever the server sends;
/// - a query, token or grant the server refuses (`bad_query`, `unauthorized`, `forbidden`, or
///   close 1008) ends with exit code 2 and the server's message naming the parameter; the one
///   exception is a refused `since` on a reconnect, which is reported and followed from now;
/// - a lost connection is retried at once and then with a doubling delay (from `firstDelay` up
///   to `maxDelay`), for at most `retryFor` from the start or from the loss; past it, exit 1;
///   a connection lost within `shortLived` of its `hello` keeps the delay growing, so a server
///   that greets and hangs up at once is not asked again in a tight loop;
/// - one notice per outage, not one per attempt.
public struct ReconnectMachine: Sendable {
    public enum Action: Sendable, Equatable {
        case notice(Notice)
        /// Open a connection with this `since` (empty: none).
        case connect(since: [ResumePoint])
        case wait(Duration)
        /// Stop following: exit with `code` after printing `message` on stderr.
        case exit(code: Int32, message: String)
    }

    /// How a connection attempt ended.
    public enum Ending: Sendable, Equatable {
        /// No WebSocket: refused, unreachable, TLS, or the upgrade was declined.
        case failed(reason: String)
        /// The WebSocket ended: the close code when one came.
        case closed(code: Int?, reason: String)
    }

    /// The server's name in messages (`host:port`).
    public let server: String
    public let retryFor: Duration
    public let firstDelay: Duration
    public let maxDelay: Duration
    /// A connection that ends sooner than this after its `hello` does not reset the backoff.
    public let shortLived: Duration = .seconds(1)

    public private(set) var cursor = ResumeCursor()
    /// This attempt got its `hello`.
    private var greeted = false
    /// When the current outage (or the start) began.
    private var outageStart: ContinuousClock.Instant
    private var outageNoticed = false
    private var lost = false
    private var delay: Duration
    private var pendingError: ServerError?
    private var sentSince = false
    private var greetedAt: ContinuousClock.Instant?

    public init(
        server: String, retryFor: Duration, firstDelay: Duration = .milliseconds(100),
        maxDelay: Duration = .seconds(2), now: ContinuousClock.Instant
    ) {
        self.server = server
        self.retryFor = retryFor
        self.firstDelay = firstDelay
        self.maxDelay = maxDelay
        self.delay = firstDelay
        self.outageStart = now
    }

    /// The first action: connect.
    public mutating func start(now: ContinuousClock.Instant) -> [Action] {
        outageStart = now
        return [connect()]
    }

    /// A `hello` arrived: the connection is up.
    public mutating func hello(_ hello: ServerMessage.Hello, now: ContinuousClock.Instant) -> [Action] {
        greeted = true
        greetedAt = now
        _ = cursor.greet(epochs: hello.epochs, seqs: hello.seqs)
        defer {
            outageNoticed = false
            lost = false
        }
        return outageNoticed || lost ? [.notice(.reconnected)] : []
    }

    /// The lines of a `lines` envelope that are new, in order (duplicates left out).
    public mutating func admit(_ lines: [LineRecord]) -> [LineRecord] {
        var kept: [LineRecord] = []
        kept.reserveCapacity(lines.count)
        for line in lines where cursor.admit(source: line.source, seq: line.seq) { kept.append(line) }
        return kept
    }

    /// An `error` envelope arrived; what it means is decided when the connection ends.
    public mutating func serverError(_ error: ServerError) {
        pendingError = error
    }

    /// The connection (or the attempt) ended.
    public mutating func ended(_ how: Ending, now: ContinuousClock.Instant) -> [Action] {
        let wasGreeted = greeted
        let error = pendingError
        greeted = false
        pendingError = nil
        let refusal: ServerError?
        if let error, Self.refusals.contains(error.code) {
            refusal = error
        } else if case .closed(1008, let reason) = how {
            refusal =
                error
                ?? ServerError(
                    code: "bad_query", param: nil, message: reason.isEmpty ? "the server refused the query (close 1008)" : reason)
        } else {
            refusal = nil
        }
        if let refusal {
            if refusal.param == "since", sentSince {
                cursor.reset()
                return [.notice(.resumeRefused(message: refusal.message)), connect()]
            }
            let param = refusal.param.map { "\($0): " } ?? ""
            return [
                .exit(
                    code: 2,
                    message: "tailcast tail: \(server): \(refusal.code == "bad_query" ? "" : refusal.code + ": ")\(param)\(refusal.message)"
                )
            ]
        }
        let reason = error.map { "\($0.code): \($0.message)" } ?? Self.describe(how)
        if wasGreeted {
            outageStart = now
            outageNoticed = false
            lost = true
            if let greetedAt, greetedAt.duration(to: now) < shortLived {
                let wait = delay
                delay = min(delay * 2, maxDelay)
                return [.notice(.connectionLost(reason: reason)), .wait(wait), connect()]
            }
            delay = firstDelay
            return [.notice(.connectionLost(reason: reason)), connect()]
        }
        let spent = outageStart.duration(to: now)
        if spent >= retryFor {
            return [
                .exit(code: 1, message: "tailcast tail: \(server): cannot connect (\(reason)); gave up after \(Notice.seconds(retryFor))")
            ]
        }
        var actions: [Action] = []
        if !outageNoticed && !lost {
            actions.append(.notice(.cannotConnect(reason: reason, retryFor: retryFor)))
        }
        outageNoticed = true
        actions.append(.wait(min(delay, retryFor - spent)))
        delay = min(delay * 2, maxDelay)
        actions.append(connect())
        return actions
    }

    /// Error codes that end `tailcast tail` with exit code 2: retrying cannot help.
    static let refusals: Set<String> = ["bad_query", "unauthorized", "forbidden"]

    private mutating func connect() -> Action {
        let since = cursor.since
        sentSince = !since.isEmpty
        return .connect(since: since)
    }

    static func describe(_ how: Ending) -> String {
        switch how {
        case .failed(let reason):
            return reason
        case .closed(let code?, let reason):
            let what = code == 1001 ? "server shutting down" : code == 1013 ? "server busy" : "code \(code)"
            return reason.isEmpty || reason == what ? "closed by the server: \(what)" : "closed by the server: \(what), \(reason)"
        case .closed(nil, let reason):
            return reason.isEmpty ? "connection closed" : reason
        }
    }
}
