import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
import TailcastCore

/// The body of one `GET /api/lines` answer: polls its ``Subscription`` and writes what it
/// returns, one payload per write.
///
/// Promises:
/// - Every write is awaited, so the server holds at most one payload for a reader beyond the
///   socket's buffers; a reader that falls behind the ring gets one exact `dropped`
///   (`slow_consumer`) and carries on (or the answer ends, with `slow_consumer = "disconnect"`).
/// - A write the peer does not take within `write_timeout_ms` closes the connection.
/// - Without `follow` the answer ends once the reader has caught up with where the rings were
///   when it began; with `follow` it streams, with a heartbeat every `heartbeat_ms` of silence,
///   until the peer leaves or the server shuts down (the hub's `goingAway`).
/// - Polls share the thread like a WebSocket's: each is budgeted and yields when it has more
///   to do; between polls it waits on a ``Doorbell`` rung by the rings.
/// - Its place in the hub (follow only) is released on every path out.
final class LinesStream: Sendable {
    private let runtime: ServerRuntime
    /// Taken once by ``run(_:)``; the subscription then lives in that call only.
    private let pending: Mutex<Subscription?>
    /// Writes this answer's own records (heartbeats, the slow-consumer error) in its format.
    private let envelopes: EnvelopeWriter
    private let follow: Bool
    /// What the request's token may read (for sources that appear while it follows).
    private let grant: TokenTable.Grant
    private let admission: HubAdmission?
    private let channel: any Channel
    private let logger: Logger
    /// The query as asked (without `token`) and the client, for the closing log line.
    private let query: String
    private let peer: String

    init(
        runtime: ServerRuntime, subscription: consuming sending Subscription, envelopes: EnvelopeWriter, follow: Bool,
        grant: TokenTable.Grant, admission: HubAdmission?, channel: any Channel, logger: Logger, parameters: [(String, String)]
    ) {
        self.grant = grant
        self.runtime = runtime
        self.pending = Mutex(subscription)
        self.envelopes = envelopes
        self.follow = follow
        self.admission = admission
        self.channel = channel
        self.logger = logger
        self.query = parameters.filter { $0.0 != "token" }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        self.peer = channel.remoteAddress.map { "\($0)" } ?? "?"
    }

    func run(_ writer: inout any ResponseBodyWriter) async throws {
        guard
            var subscription = pending.withLock({ s -> sending Subscription? in
                let taken = s
                s = nil
                return taken
            })
        else { return }
        let settings = runtime.config.server
        let clock = ConnectionClock()
        let doorbell = admission?.inbox.doorbell ?? Doorbell()
        subscription.register(doorbell)
        // A follower that leaves is noticed at once, not at the next heartbeat's failed write.
        let watch = follow ? PeerWatch(doorbell: doorbell) : nil
        if let watch { try? await channel.pipeline.addHandler(watch, position: .first).get() }
        // A follow stream is watched by the server's watchdog (heartbeats, write deadline) like
        // a WebSocket; a one-shot answer has a ticker of its own for its write deadline.
        var ticker: Task<Void, Never>?
        if let inbox = admission?.inbox {
            runtime.watchdog.watch(inbox, clock: clock, channel: channel)
        } else {
            ticker = Task { [channel, metrics = runtime.metrics, logger] in
                let tick = ConnectionWatchdog.tickNanos(settings)
                let writeTimeout = Int64(settings.writeTimeoutMillis) * 1_000_000
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: UInt64(tick))
                    if clock.writeWaitNanos >= writeTimeout {
                        metrics.writeTimeouts.increment()
                        logger.notice("closing an /api/lines reader that accepted nothing for write_timeout_ms")
                        channel.close(promise: nil)
                        return
                    }
                }
            }
        }
        let started = ConnectionClock.now()
        var ended = "caught up"
        do {
            ended = try await stream(&writer, &subscription, doorbell: doorbell, watch: watch, clock: clock, settings: settings)
            try await writer.finish(nil)
        } catch {
            ended = "write failed"
            logger.debug("/api/lines answer ended", metadata: ["error": "\(error)"])
        }
        ticker?.cancel()
        if let inbox = admission?.inbox { runtime.watchdog.forget(inbox) }
        if let watch { try? await channel.pipeline.removeHandler(watch).get() }
        subscription.unregister(doorbell)
        admission?.release()
        // A follow stream is a connection: one log line when it closes, as for a WebSocket.
        let metadata: Logger.Metadata = [
            "client": "\(peer)", "query": "\(LogText.escaped(query))", "ended": "\(ended)",
            "duration_s": "\(String(format: "%.1f", Double(ConnectionClock.now() - started) / 1e9))",
            "lines_sent": "\(subscription.linesSentTotal)", "lines_dropped": "\(subscription.linesDroppedTotal)",
        ]
        if follow {
            logger.info("/api/lines stream closed", metadata: metadata)
        } else {
            logger.debug("/api/lines answer done", metadata: metadata)
        }
    }

    /// Writes until the answer is complete; returns why it ended.
    private func stream(
        _ writer: inout any ResponseBodyWriter, _ subscription: inout Subscription, doorbell: Doorbell,
        watch: PeerWatch?, clock: ConnectionClock, settings: ServerSettings
    ) async throws -> String {
        // Without follow, the answer covers the rings up to here.
        let ends = subscription.sources.map { $0.ring.bounds.next }
        let heartbeat = Int64(settings.heartbeatMillis) * 1_000_000
        while true {
            if Task.isCancelled || !channel.isActive || watch?.isGone == true { return "peer gone" }
            if let inbox = admission?.inbox {
                for command in inbox.take() {
                    switch command {
                    case .goingAway: return "server shutting down"
                    case .revoked(let message):
                        runtime.metrics.queriesRejected.increment()
                        try await write(
                            envelopes.error(QueryError(code: "unauthorized", param: "token", message: message)),
                            to: &writer, clock: clock)
                        return "token revoked"
                    case .sourcesChanged:
                        let added = subscription.adopt(
                            SourceSelection(runtime: runtime, grant: grant).newSources(
                                for: subscription.query, besides: subscription.sources))
                        if !added.isEmpty, inbox.access != nil { inbox.access?.sources = subscription.sources.map(\.name) }
                    }
                }
            }
            let payloads = subscription.poll(maxFrameBytes: settings.maxFrameBytes)
            if subscription.lostLinesToSlowness, settings.slowConsumer == .disconnect {
                runtime.metrics.slowConsumerDisconnects.increment()
                for p in payloads { try await write(p, to: &writer, clock: clock) }
                try await write(
                    envelopes.error(
                        code: "slow_consumer",
                        message: "this reader read too slowly and lines were lost; slow_consumer = \"disconnect\""), to: &writer,
                    clock: clock)
                return "slow consumer"
            }
            for p in payloads { try await write(p, to: &writer, clock: clock) }
            if subscription.hasPendingWork {
                // The poll spent its budget or filled its payload: let others run first.
                await Task.yield()
                continue
            }
            if !follow {
                if subscription.isReadingBack {
                    // A read-back hands its lines as they come: wait for them, not for the ring.
                    if payloads.isEmpty { await doorbell.wait() }
                    continue
                }
                if payloads.isEmpty || zip(subscription.nextSeqs, ends).allSatisfy({ $0 >= $1 }) { return "caught up" }
                continue
            }
            if !payloads.isEmpty { continue }
            if clock.idleNanos >= heartbeat {
                try await write(envelopes.heartbeat(), to: &writer, clock: clock)
                continue
            }
            await doorbell.wait()

        }
    }

    private func write(_ payload: ByteBuffer, to writer: inout any ResponseBodyWriter, clock: ConnectionClock) async throws {
        clock.writeStarted()
        defer { clock.writeFinished() }
        try await writer.write(payload)
    }
}
