import CLinux
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The one thread that reads every file source: it owns the inotify descriptor and every file
/// descriptor, and blocks in `poll` on inotify and its stop pipe.
///
/// Promises: one thread whatever the number of files or clients; reacts to inotify at once and
/// looks at every plain source's path at least once per second as a safety net (the files of a
/// glob once per 30 s, its directories once per minute: inotify drives them); `stop()` returns after the
/// thread has closed every descriptor.
public final class FileTailThread: Sendable {
    private let sources: [(SourceHandle, FileSourceSettings)]
    private let logger: Logger
    private let store: SavedPositions?
    private let thread: DedicatedThread
    private let commands = FileSourceCommands()

    /// The longest the thread sleeps without looking at the paths.
    static let safetyNetMillis: Int64 = 1000

    public init(sources: [(SourceHandle, FileSourceSettings)], logger: Logger, store: SavedPositions? = nil) throws(SourceError) {
        self.sources = sources
        self.logger = logger
        self.store = store
        self.thread = try DedicatedThread(name: "tailcast-files")
        try commands.open()
    }

    /// Starts following a source added by a reload (from its end, after `initial_lines`).
    public func add(_ source: SourceHandle, _ settings: FileSourceSettings) {
        commands.post(.add(source, settings))
    }

    /// Stops following a source removed by a reload; its readers get a `missing` event.
    public func remove(_ name: String) {
        commands.post(.remove(name))
    }

    /// Starts the thread; the sources begin following at once.
    public func start() throws(SourceError) {
        let inotify = try Inotify()
        let sources = self.sources
        let logger = self.logger
        let store = self.store
        let commands = self.commands
        let started = thread.start { stopFD in
            var loop = FileTailLoop(
                sources: sources, inotify: inotify, stopFD: stopFD, logger: logger, store: store,
                commands: commands)
            loop.run()
        }
        if !started { inotify.close() }
    }

    /// Stops the thread and waits until it has closed its files. Idempotent.
    public func stop() {
        thread.stop()
    }
}

/// The body of ``FileTailThread``: lives on that thread only.
struct FileTailLoop {
    /// Followed paths by owner id (plain sources and the files of glob sources).
    private var paths: [Int: FollowedPath] = [:]
    /// Glob sources by owner id.
    private var globs: [Int: GlobWatch] = [:]
    /// The glob each member path belongs to.
    private var globOf: [Int: Int] = [:]
    private var watches: WatchTable
    private let inotify: Inotify
    private let stopFD: Int32
    private let logger: Logger
    private var nextID = 0
    private var deadlines: [Int: Int64] = [:]
    private var dirty: Set<Int> = []
    private var dirtyGlobs: Set<Int> = []
    private let store: SavedPositions?
    private var lastSaved: [String: SavedPosition] = [:]
    private let commands: FileSourceCommands?

    /// How often positions are saved (and at stop).
    static let saveNanos: Int64 = 2_000_000_000
    /// The safety net looks at every plain source's path once per second, and at the files of
    /// glob sources once per `memberSweepRounds` seconds (a slice each second), so that an idle
    /// glob over thousands of files costs next to nothing; inotify drives everything else.
    static let memberSweepRounds = 30
    /// Glob directories are walked again this often as a safety net (new files are found by
    /// inotify on every directory a glob covers).
    static let globWalkNanos: Int64 = 60_000_000_000

    init(
        sources: [(SourceHandle, FileSourceSettings)], inotify: Inotify, stopFD: Int32, logger: Logger,
        store: SavedPositions? = nil, commands: FileSourceCommands? = nil
    ) {
        self.store = store
        self.commands = commands
        self.inotify = inotify
        self.watches = WatchTable(inotify: inotify)
        self.stopFD = stopFD
        self.logger = logger
        for (source, settings) in sources { add(source, settings) }
    }

    /// Adds a source and marks it to be looked at.
    private mutating func add(_ source: SourceHandle, _ settings: FileSourceSettings) {
        let writer = SourceWriter(source: source, maxLineBytes: settings.maxLineBytes)
        let id = newID()
        if GlobWatch.isPattern(settings.path) {
            globs[id] = GlobWatch(id: id, writer: writer, settings: settings)
            dirtyGlobs.insert(id)
        } else {
            let start: FileFollower.Start =
                settings.saved.map { .resume($0.identity, offset: $0.offset, publishedTo: $0.publishedTo) } ?? .atEnd
            paths[id] = FollowedPath(id: id, writer: writer, settings: settings, role: .source, start: start)
            dirty.insert(id)
        }
    }

    /// Stops every follower of source `name` and tells its readers.
    private mutating func remove(_ name: String, buffer: UnsafeMutableRawBufferPointer) {
        var event: SourceHandle?
        let now = monotonicNanos()
        for (id, p) in paths where p.source.localName == name {
            var p = p
            p.stop(keepPartialLines: false, now: now, watches: &watches, buffer: buffer, logger: logger)
            paths[id] = nil
            deadlines[id] = nil
            globOf[id] = nil
            event = p.source
        }
        for (id, g) in globs where g.writer.source.localName == name {
            g.stop(watches: &watches)
            globs[id] = nil
            event = g.writer.source
        }
        if let source = event {
            source.ring.record(SourceEvent(.missing, "source \(name) was removed from the config"))
            logger.notice("stopped following a removed source", metadata: ["source": "\(name)"])
        }
    }

    private mutating func newID() -> Int {
        nextID += 1
        return nextID
    }

    mutating func run() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        let eventBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 8)
        defer {
            buffer.deallocate()
            eventBuffer.deallocate()
        }
        var lastSweep = monotonicNanos()
        var sweepRound = 0
        var lastGlobWalk = lastSweep
        var lastSave = lastSweep
        while true {
            let now = monotonicNanos()
            if store != nil, now - lastSave >= Self.saveNanos {
                savePositions()
                lastSave = now
            }
            if now - lastSweep >= Self.sweepNanos {
                sweepRound += 1
                let slice = sweepRound % Self.memberSweepRounds
                for id in paths.keys where globOf[id] == nil || id % Self.memberSweepRounds == slice { dirty.insert(id) }
                lastSweep = now
            }
            if now - lastGlobWalk >= Self.globWalkNanos {
                dirtyGlobs.formUnion(globs.keys)
                lastGlobWalk = now
            }
            for (id, d) in deadlines where d <= now { dirty.insert(id) }
            for gid in dirtyGlobs.sorted() { rescan(gid) }
            dirtyGlobs.removeAll(keepingCapacity: true)
            var again = false
            let batch = dirty.sorted()
            dirty.removeAll(keepingCapacity: true)
            for id in batch {
                guard var p = paths[id] else { continue }
                p.check(now: now, watches: &watches, buffer: buffer, logger: logger)
                deadlines[id] = p.follower.deadline
                if p.follower.hasMore { again = true }
                if let gid = globOf[id] {
                    settle(&p, glob: gid, now: now, buffer: buffer)
                } else {
                    p.closedFiles.removeAll()
                    paths[id] = p
                }
            }
            if again { dirty.formUnion(paths.filter { $0.value.follower.hasMore }.keys) }
            if !dirtyGlobs.isEmpty { again = true }

            var wake = lastSweep + Self.sweepNanos
            for d in deadlines.values { wake = min(wake, d) }
            let timeout = again ? 0 : Int32(clamping: max(0, (wake - monotonicNanos() + 999_999) / 1_000_000))
            var fds = [
                pollfd(fd: inotify.fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: commands?.wakeFD ?? -1, events: Int16(POLLIN), revents: 0),
            ]
            let r = poll(&fds, 3, timeout)
            if r < 0, errno != EINTR {
                logger.error("poll failed", metadata: ["errno": "\(errno)"])
            }
            if fds[1].revents != 0 { break }
            if fds[2].revents != 0, let commands {
                for command in commands.take() {
                    switch command {
                    case .add(let source, let settings): add(source, settings)
                    case .remove(let name): remove(name, buffer: buffer)
                    }
                }
            }
            if fds[0].revents != 0 { drainInotify(eventBuffer) }
        }
        savePositions()
        let now = monotonicNanos()
        for id in paths.keys {
            paths[id]?.stop(keepPartialLines: store != nil, now: now, watches: &watches, buffer: buffer, logger: logger)
        }
        for g in globs.values { g.stop(watches: &watches) }
        inotify.close()
    }

    /// Marks the paths and globs that queued inotify events concern.
    private mutating func drainInotify(_ eventBuffer: UnsafeMutableRawBufferPointer) {
        var overflow = false
        var events: [Inotify.Event] = []
        inotify.drain(buffer: eventBuffer) { events.append($0) }
        for event in events {
            if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                overflow = true
                continue
            }
            guard let owners = watches.followers(of: event.wd) else { continue }
            if event.mask & UInt32(IN_IGNORED) != 0 {
                for id in owners {
                    if globs[id] != nil { dirtyGlobs.insert(id) } else { dirty.insert(id) }
                }
                watches.forget(event.wd)
                continue
            }
            for id in owners {
                if globs[id] != nil {
                    dirtyGlobs.insert(id)
                } else if let p = paths[id], !p.isDirectoryWatch(event.wd) || p.concerns(name: event.name) {
                    dirty.insert(id)
                }
            }
        }
        if overflow {
            logger.warning("inotify queue overflowed; looking at every file")
            dirty.formUnion(paths.keys)
            dirtyGlobs.formUnion(globs.keys)
        }
    }

    /// After a glob member was looked at: tells its glob which files it closed, and drops the
    /// member once its path has stayed gone.
    private mutating func settle(_ p: inout FollowedPath, glob gid: Int, now: Int64, buffer: UnsafeMutableRawBufferPointer) {
        let id = p.id
        if p.follower.isGone {
            p.stop(keepPartialLines: false, now: now, watches: &watches, buffer: buffer, logger: logger)
        }
        if !p.closedFiles.isEmpty, var glob = globs[gid] {
            for file in p.closedFiles { glob.membership.closed(file) }
            // A renamed file may match the glob under its new name: look again.
            if p.closedFiles.contains(where: \.linked) { dirtyGlobs.insert(gid) }
            globs[gid] = glob
            p.closedFiles.removeAll()
        }
        if p.follower.isGone {
            paths[id] = nil
            deadlines[id] = nil
            globOf[id] = nil
            globs[gid]?.membership.ended(p.follower.path)
            updateState(of: gid)
        } else {
            paths[id] = p
        }
    }

    /// Writes each file source's position (all its lines are published between checks).
    private mutating func savePositions() {
        guard let store else { return }
        var positions = lastSaved
        for (id, p) in paths where globOf[id] == nil {
            guard let c = p.follower.checkpoint else { continue }
            positions[p.source.localName] = SavedPosition(
                epoch: p.source.epoch, nextSeq: c.seq, device: c.identity.device,
                inode: c.identity.inode, offset: c.offset, endOffset: c.publishedTo)
        }
        for glob in globs.values {
            let source = glob.writer.source
            var files: [SavedFile] = []
            files.reserveCapacity(glob.membership.members.count)
            for (path, fid) in glob.membership.members {
                if let end = paths[fid]?.follower.publishedEnd {
                    files.append(SavedFile(path: path, identity: end.identity, offset: end.offset))
                }
            }
            files.sort { $0.path < $1.path }
            positions[source.localName] = SavedPosition(
                epoch: source.epoch, nextSeq: source.ring.bounds.next,
                device: 0, inode: 0, offset: 0, files: files)
        }
        guard positions != lastSaved else { return }
        if let problem = store.save(positions) {
            logger.error("cannot save positions to state_dir", metadata: ["error": "\(problem)"])
        } else {
            lastSaved = positions
        }
    }

    /// Walks glob `gid` and starts following the files its membership picks.
    private mutating func rescan(_ gid: Int) {
        guard var glob = globs[gid] else { return }
        let initial = !glob.membership.scannedOnce
        let found = glob.scan(watches: &watches)
        var open: Set<FileIdentity> = []
        if !found.isEmpty {
            for fid in glob.membership.members.values {
                if let p = paths[fid] { open.formUnion(p.follower.openIdentities) }
            }
        }
        for (path, start) in glob.membership.scanned(found, open: open) {
            let fid = newID()
            var settings = glob.settings
            settings.path = path
            settings.saved = nil
            paths[fid] = FollowedPath(id: fid, writer: glob.writer, settings: settings, role: .globMember, start: start)
            globOf[fid] = gid
            glob.membership.added(path, id: fid)
            dirty.insert(fid)
            if !initial { logger.info("glob matched a new file", metadata: ["source": "\(glob.writer.source.name)", "path": "\(path)"]) }
        }
        globs[gid] = glob
        updateState(of: gid)
    }

    private func updateState(of gid: Int) {
        guard let glob = globs[gid] else { return }
        let source = glob.writer.source
        if glob.membership.members.isEmpty {
            source.setState(.waiting("no file matches \(glob.settings.path)"))
        } else {
            source.setState(.following)
        }
    }

    private static let sweepNanos = FileTailThread.safetyNetMillis * 1_000_000
}

/// Sources to add or remove, posted by a reload and taken by the file thread.
final class FileSourceCommands: Sendable {
    enum Command: Sendable {
        case add(SourceHandle, FileSourceSettings)
        case remove(String)
    }

    private let queue = Mutex<[Command]>([])
    private let fds = Mutex<(read: Int32, write: Int32)>((-1, -1))

    func open() throws(SourceError) {
        var pair: [Int32] = [0, 0]
        guard tailcast_pipe2(&pair, Int32(O_CLOEXEC | O_NONBLOCK)) == 0 else {
            throw SourceError(source: "-", path: nil, errno: errno, message: "pipe2 failed")
        }
        fds.withLock { $0 = (pair[0], pair[1]) }
    }

    var wakeFD: Int32 { fds.withLock { $0.read } }

    func post(_ command: Command) {
        queue.withLock { $0.append(command) }
        var one: UInt8 = 1
        let w = fds.withLock { $0.write }
        _ = write(w, &one, 1)
    }

    /// Takes every queued command and empties the wake pipe.
    func take() -> [Command] {
        var sink = [UInt8](repeating: 0, count: 64)
        let r = wakeFD
        while read(r, &sink, sink.count) > 0 {}
        return queue.withLock { q in
            let all = q
            q.removeAll()
            return all
        }
    }

    deinit {
        let (r, w) = fds.withLock { $0 }
        if r >= 0 { close(r) }
        if w >= 0 { close(w) }
    }
}
