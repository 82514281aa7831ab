#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging

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

    public init(source: SourceHandle, settings: JournalSourceSettings, logger: Logger) throws(SourceError) {
        self.source = source
        self.settings = settings
        self.logger = logger
        self.thread = try DedicatedThread(name: "tailcast-journal")
    }

    public func start() {
        let source = self.source
        let settings = self.settings
        let logger = self.logger
        thread.start { stopFD in
            var loop = JournalLoop(source: source, settings: settings, logger: logger, stopFD: stopFD)
            loop.run()
        }
    }

    /// Stops the thread and waits until the journal handle is closed. Idempotent.
    public func stop() {
        thread.stop()
    }
}

/// The body of ``JournalThread``.
struct JournalLoop {
    let source: SourceHandle
    let settings: JournalSourceSettings
    let logger: Logger
    let stopFD: Int32
    private var builder: LineBlockBuilder

    /// Entries read per batch before they are published.
    static let batch = 4096

    init(source: SourceHandle, settings: JournalSourceSettings, logger: Logger, stopFD: Int32) {
        self.source = source
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
                        if n >= Self.batch { publish(); n = 0 }
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
                var fds = [pollfd(fd: spec.fd, events: spec.events, revents: 0),
                           pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
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
            publishedCursor = lastCursor
        }
    }

    /// The cursor of the last entry appended, and of the last one published.
    private var lastCursor: [UInt8]?
    private var publishedCursor: [UInt8]?
    private var savedCursor: [UInt8]?
    private var lastSave: Int64 = 0

    /// Saves epoch, next seq and the cursor of the last published entry (with `state_dir`).
    private mutating func savePosition() {
        lastSave = monotonicNanos()
        guard let dir = settings.stateDir, let cursor = publishedCursor, cursor != savedCursor else { return }
        let position = JournalPosition(epoch: source.epoch, nextSeq: source.ring.bounds.next,
                                       cursor: String(decoding: cursor, as: UTF8.self))
        if let problem = position.save(directory: dir, source: source.name) {
            logger.error("cannot save the journal cursor", metadata: ["source": "\(source.name)", "error": "\(problem)"])
        } else {
            savedCursor = cursor
        }
    }

    /// Standard fields rendered in every line's `fields`.
    private static let unitKey = Array("_SYSTEMD_UNIT".utf8)
    private static let priorityKey = Array("PRIORITY".utf8)
    private static let identifierKey = Array("SYSLOG_IDENTIFIER".utf8)
    private static let pidKey = Array("_PID".utf8)
    private static let hostKey = Array("_HOSTNAME".utf8)
    private static let messageKey = Array("MESSAGE".utf8)
    private static let sourceTimeKey = Array("_SOURCE_REALTIME_TIMESTAMP".utf8)
    private static let unitName = Array(#""unit":"#.utf8)
    private static let priorityName = Array(#""priority":"#.utf8)
    private static let identifierName = Array(#""identifier":"#.utf8)
    private static let pidName = Array(#""pid":"#.utf8)
    private static let hostName = Array(#""hostname":"#.utf8)
    private static let cursorName = Array(#""cursor":"#.utf8)
    /// Bytes of further fields kept per entry for `fields=` and filters.
    private static let keptFieldBytes = 8192

    private mutating func append(_ handle: JournalHandle) {
        var message: [UInt8] = []
        var unit: [UInt8]?
        var identifier: [UInt8]?
        var pid: [UInt8]?
        var host: [UInt8]?
        var priority: UInt8?
        var sourceTime: Timestamp?
        var kept: [UInt8] = []
        handle.forEachField { key, value in
            if key.elementsEqual(Self.messageKey) {
                message = Array(value)
                return
            }
            if key.elementsEqual(Self.unitKey) { unit = Array(value) }
            else if key.elementsEqual(Self.identifierKey) { identifier = Array(value) }
            else if key.elementsEqual(Self.pidKey) { pid = Array(value) }
            else if key.elementsEqual(Self.hostKey) { host = Array(value) }
            else if key.elementsEqual(Self.priorityKey), value.count == 1, value[0] >= 0x30, value[0] <= 0x37 {
                priority = value[0] - 0x30
            } else if key.elementsEqual(Self.sourceTimeKey) {
                sourceTime = Self.microseconds(value)
            }
            if kept.count + key.count + value.count < Self.keptFieldBytes {
                JournalFields.append(key: key, value: value, to: &kept)
            }
        }
        var fields: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        func add(_ name: [UInt8], _ raw: [UInt8]?, number: Bool = false) {
            guard let raw else { return }
            if !first { fields.append(UInt8(ascii: ",")) }
            first = false
            fields.append(contentsOf: name)
            if number, !raw.isEmpty, raw.count < 12, raw.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                fields.append(contentsOf: raw)
                return
            }
            fields.append(UInt8(ascii: "\""))
            raw.withUnsafeBytes { bytes in
                if UTF8Repair.classify(bytes) == .invalid {
                    var repaired: [UInt8] = []
                    UTF8Repair.repair(bytes, into: &repaired)
                    repaired.withUnsafeBytes { JSONString.appendEscaped($0, to: &fields) }
                } else {
                    JSONString.appendEscaped(bytes, to: &fields)
                }
            }
            fields.append(UInt8(ascii: "\""))
        }
        add(Self.unitName, unit)
        add(Self.priorityName, priority.map { [0x30 + $0] }, number: true)
        add(Self.identifierName, identifier)
        add(Self.pidName, pid, number: true)
        add(Self.hostName, host)
        let cursor = handle.cursorBytes()
        lastCursor = cursor
        add(Self.cursorName, cursor)
        fields.append(UInt8(ascii: "}"))
        let ts = Timestamp(microseconds: Int64(handle.realtime()))
        message.withUnsafeBytes { m in
            builder.appendJournal(message: m, ts: ts, priority: priority, fieldsJSON: fields, fields: kept,
                                  sourceTime: sourceTime)
        }
    }

    /// A journal timestamp field (decimal microseconds since the epoch, before year 10000).
    static func microseconds(_ value: UnsafeRawBufferPointer) -> Timestamp? {
        guard !value.isEmpty, value.count <= 18 else { return nil }
        var v: Int64 = 0
        for b in value {
            guard b >= 0x30, b <= 0x39 else { return nil }
            v = v * 10 + Int64(b - 0x30)
        }
        guard v > 0, v < LineTimeParser.maxMicros else { return nil }
        return Timestamp(microseconds: v)
    }
}
