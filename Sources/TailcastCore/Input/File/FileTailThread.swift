#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Foundation
import Logging
import Synchronization

/// The one thread that reads every file source: it owns the inotify descriptor and every file
/// descriptor, and blocks in `poll` on inotify and a stop pipe.
///
/// Promises: one thread whatever the number of files or clients; reacts to inotify at once and
/// looks at every path at least once per second as a safety net; `stop()` returns after the
/// thread has closed every descriptor.
public final class FileTailThread: Sendable {
    private let sources: [(SourceHandle, FileSourceSettings)]
    private let logger: Logger
    private let stopFD: Int32
    private let stopWriteFD: Int32
    /// `started`, then `stopped`: `stop()` waits for the thread only if it was started.
    private let phase = Mutex<(started: Bool, stopped: Bool)>((false, false))
    private let done = DispatchSemaphore(value: 0)

    /// The longest the thread sleeps without looking at the paths.
    static let safetyNetMillis: Int64 = 1000

    public init(sources: [(SourceHandle, FileSourceSettings)], logger: Logger) throws(SourceError) {
        self.sources = sources
        self.logger = logger
        var fds: [Int32] = [0, 0]
        guard tailcast_pipe2(&fds, Int32(O_CLOEXEC | O_NONBLOCK)) == 0 else {
            throw SourceError(source: "-", path: nil, errno: errno, message: "pipe2 failed")
        }
        self.stopFD = fds[0]
        self.stopWriteFD = fds[1]
    }

    /// Starts the thread; the sources begin following at once.
    public func start() throws(SourceError) {
        let inotify = try Inotify()
        let first = phase.withLock { p -> Bool in
            if p.started || p.stopped { return false }
            p.started = true
            return true
        }
        guard first else {
            inotify.close()
            return
        }
        let sources = self.sources
        let logger = self.logger
        let stopFD = self.stopFD
        let done = self.done
        let thread = Thread {
            var loop = FileTailLoop(sources: sources, inotify: inotify, stopFD: stopFD, logger: logger)
            loop.run()
            done.signal()
        }
        thread.name = "tailcast-files"
        thread.start()
    }

    /// Stops the thread and waits until it has closed its files. Idempotent.
    public func stop() {
        let wasRunning = phase.withLock { p -> Bool? in
            if p.stopped { return nil }
            p.stopped = true
            return p.started
        }
        guard let wasRunning else { return }
        if wasRunning {
            var one: UInt8 = 1
            _ = write(stopWriteFD, &one, 1)
            done.wait()
        }
        close(stopFD)
        close(stopWriteFD)
    }
}

/// The body of ``FileTailThread``: lives on that thread only.
struct FileTailLoop {
    private var followers: [FileFollower]
    private var watches: WatchTable
    private let inotify: Inotify
    private let stopFD: Int32
    private let logger: Logger

    init(sources: [(SourceHandle, FileSourceSettings)], inotify: Inotify, stopFD: Int32, logger: Logger) {
        self.followers = sources.enumerated().map { FileFollower(index: $0.offset, source: $0.element.0, settings: $0.element.1) }
        self.inotify = inotify
        self.watches = WatchTable(inotify: inotify)
        self.stopFD = stopFD
        self.logger = logger
    }

    mutating func run() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        let eventBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 8)
        defer {
            buffer.deallocate()
            eventBuffer.deallocate()
        }
        var deadlines = [Int64?](repeating: nil, count: followers.count)
        var dirty = Set(followers.indices)
        var lastSweep = monotonicNanos()
        while true {
            let now = monotonicNanos()
            if now - lastSweep >= Self.sweepNanos {
                dirty.formUnion(followers.indices)
                lastSweep = now
            }
            for i in followers.indices where deadlines[i].map({ $0 <= now }) ?? false { dirty.insert(i) }
            var again = false
            for i in dirty.sorted() {
                deadlines[i] = followers[i].check(now: now, buffer: buffer, watches: &watches, logger: logger)
                if followers[i].hasMore { again = true }
            }
            dirty.removeAll(keepingCapacity: true)
            if again { dirty.formUnion(followers.indices.filter { followers[$0].hasMore }) }

            var wake = lastSweep + Self.sweepNanos
            for d in deadlines { if let d { wake = min(wake, d) } }
            let timeout = again ? 0 : Int32(clamping: max(0, (wake - monotonicNanos() + 999_999) / 1_000_000))
            var fds = [pollfd(fd: inotify.fd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
            let r = poll(&fds, 2, timeout)
            if r < 0, errno != EINTR {
                logger.error("poll failed", metadata: ["errno": "\(errno)"])
            }
            if fds[1].revents != 0 { break }
            if fds[0].revents != 0 {
                inotify.drain(buffer: eventBuffer) { event in
                    if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        logger.warning("inotify queue overflowed; looking at every file")
                        dirty.formUnion(followers.indices)
                        return
                    }
                    if event.mask & UInt32(IN_IGNORED) != 0 {
                        if let owners = watches.followers(of: event.wd) { dirty.formUnion(owners) }
                        watches.forget(event.wd)
                        return
                    }
                    guard let owners = watches.followers(of: event.wd) else { return }
                    for i in owners {
                        if !followers[i].isDirectoryWatch(event.wd) || followers[i].concerns(name: event.name) {
                            dirty.insert(i)
                        }
                    }
                }
            }
        }
        for i in followers.indices { followers[i].stop(watches: &watches) }
        inotify.close()
    }

    private static let sweepNanos = FileTailThread.safetyNetMillis * 1_000_000
}
