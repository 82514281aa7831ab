import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The thread that owns one journal handle for its whole life (as libsystemd requires) and
/// feeds the source's ring: it blocks in `poll` on the journal's descriptor and a stop pipe,
/// with the journal's own timeout, and drains new entries in batches.
///
/// Promises: no busy loop and no sleep loop while the journal is there; a journal that cannot be
/// opened (directory missing, no permission) makes the source `waiting` or `error` and is tried
/// again every second; `stop()` returns after the handle is closed.
public final class JournalThread: Sendable {
    private let source: SourceHandle
    private let settings: JournalSourceSettings
    private let logger: Logger
    private let thread: DedicatedThread
    /// Reads entries that left the ring back from the journal (attached to the source).
    public let readBack: JournalReadBack

    public init(source: SourceHandle, settings: JournalSourceSettings, logger: Logger) throws(SourceError) {
        self.source = source
        self.settings = settings
        self.logger = logger
        self.thread = try DedicatedThread(name: "tailcast-journal")
        self.readBack = JournalReadBack(source: source.name, settings: settings, logger: logger)
        source.attach(readBack)
    }

    public func start() {
        let source = self.source
        let settings = self.settings
        let logger = self.logger
        let readBack = self.readBack
        thread.start { stopFD in
            var loop = JournalLoop(source: source, settings: settings, readBack: readBack, logger: logger, stopFD: stopFD)
            loop.run()
        }
    }

    /// Stops the thread and waits until the journal handle is closed. Idempotent.
    public func stop() {
        thread.stop()
        readBack.cancelAll()
    }
}

/// The body of ``JournalThread``.
struct JournalLoop {
    let source: SourceHandle
    let settings: JournalSourceSettings
    let logger: Logger
    let stopFD: Int32
    private var builder: LineBlockBuilder
    private var renderer = JournalEntryRenderer()
    let readBack: JournalReadBack
    /// The next `seq` the read-back index wants a sample of.
    private var nextSample: UInt64 = 0

    /// Entries read per batch before they are published.
    static let batch = 4096

    init(source: SourceHandle, settings: JournalSourceSettings, readBack: JournalReadBack, logger: Logger, stopFD: Int32) {
        self.source = source
        self.readBack = readBack
        self.settings = settings
        self.logger = logger
        self.stopFD = stopFD
        builder = LineBlockBuilder(source: source.name, nextSeq: source.ring.bounds.next, maxLineBytes: settings.maxLineBytes)
    }

    mutating func run() {
        var firstOpen = true
        var reportedProblem = false
        while true {
            let handle: JournalHandle
            do {
                handle = try JournalHandle(settings: settings, source: source.name)
            } catch {
                let text = error.description
                let state: SourceState = error.errno == ENOENT ? .waiting(text) : .error(text)
                if source.setState(state) != state, !reportedProblem {
                    logger.warning("journal not readable yet", metadata: ["source": "\(source.name)", "error": "\(text)"])
                    if !firstOpen { source.ring.record(SourceEvent(.missing, text)) }
                    reportedProblem = true
                }
                if waitForStop(timeoutMillis: 1000) { return }
                continue
            }
            var consumeCurrent: Bool
            if firstOpen, let saved = settings.saved, handle.seek(after: saved.cursor) {
                consumeCurrent = false
                logger.info("continuing the journal from the saved cursor", metadata: ["source": "\(source.name)"])
            } else {
                consumeCurrent = handle.seekTail(keeping: firstOpen ? settings.initialLines : 0)
            }
            if !firstOpen {
                // Entries may have been skipped while the journal was away: the index's samples
                // no longer number the journal continuously.
                readBack.reset()
                nextSample = 0
            }
            if reportedProblem, !firstOpen { source.ring.record(SourceEvent(.reopened, "journal readable again")) }
            firstOpen = false
            reportedProblem = false
            source.setState(.following)
            logger.info("following journal", metadata: ["source": "\(source.name)", "directory": "\(settings.directory ?? "local")"])
            // Follow until stopped or the handle fails.
            while true {
                do throws(SourceError) {
                    var n = 0
                    while true {
                        if !consumeCurrent, !(try handle.next()) { break }
                        consumeCurrent = false
                        append(handle)
                        n += 1
                        if n >= Self.batch {
                            publish()
                            n = 0
                        }
                    }
                    publish()
                } catch {
                    source.setState(.error(error.description))
                    source.ring.record(SourceEvent(.error, error.description))
                    logger.error("journal read failed", metadata: ["source": "\(source.name)", "error": "\(error.description)"])
                    break
                }
                let spec = handle.waitSpec()
                var timeout: Int32 = settings.stateDir == nil ? -1 : 2000
                if let t = spec.timeoutMicros {
                    var ts = timespec()
                    clock_gettime(CLOCK_MONOTONIC, &ts)
                    let now = UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
                    let journalTimeout = t <= now ? 0 : Int32(clamping: (t - now + 999) / 1000)
                    timeout = timeout < 0 ? journalTimeout : min(timeout, journalTimeout)
                }
                var fds = [
                    pollfd(fd: spec.fd, events: spec.events, revents: 0),
                    pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0),
                ]
                _ = poll(&fds, 2, timeout)
                if fds[1].revents != 0 {
                    savePosition()
                    return
                }
                handle.process()
                if settings.stateDir != nil, monotonicNanos() - lastSave >= 2_000_000_000 {
                    savePosition()
                }
            }
            if waitForStop(timeoutMillis: 1000) { return }
        }
    }

    /// Waits up to `timeoutMillis` for the stop pipe; `true` when stopped.
    private func waitForStop(timeoutMillis: Int32) -> Bool {
        var fds = [pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
        return poll(&fds, 1, timeoutMillis) > 0
    }

    private mutating func publish() {
        if let block = builder.finish() {
            source.publish(block, bytesRead: block.text.count)
            publishedCursor = renderer.lastCursor
        }
    }

    /// The cursor of the last entry published (copied once per batch).
    private var publishedCursor: [UInt8]?
    private var savedCursor: [UInt8]?
    private var lastSave: Int64 = 0

    /// Saves epoch, next seq and the cursor of the last published entry (with `state_dir`).
    private mutating func savePosition() {
        lastSave = monotonicNanos()
        guard let dir = settings.stateDir, let cursor = publishedCursor, cursor != savedCursor else { return }
        let position = JournalPosition(
            epoch: source.epoch, nextSeq: source.ring.bounds.next,
            cursor: String(decoding: cursor, as: UTF8.self))
        if let problem = position.save(directory: dir, source: source.localName) {
            logger.error("cannot save the journal cursor", metadata: ["source": "\(source.name)", "error": "\(problem)"])
        } else {
            savedCursor = cursor
        }
    }

    /// Renders the current entry as the next line and samples it for the read-back index.
    private mutating func append(_ handle: JournalHandle) {
        let seq = builder.nextSeq
        renderer.append(handle, to: &builder)
        if seq >= nextSample, let cursor = renderer.lastCursor {
            nextSample = readBack.record(
                JournalSeqIndex.Sample(
                    seq: seq, cursor: String(decoding: cursor, as: UTF8.self), realtime: renderer.lastRealtime))
        }
    }
}
