#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CLinux
import Logging
import Synchronization

/// The one thread that reads every file source: it owns the inotify descriptor and every file
/// descriptor, and blocks in `poll` on inotify and its stop pipe.
///
/// Promises: one thread whatever the number of files or clients; reacts to inotify at once and
/// looks at every path at least once per second as a safety net; `stop()` returns after the
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
            var loop = FileTailLoop(sources: sources, inotify: inotify, stopFD: stopFD, logger: logger, store: store,
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
    /// Followers by owner id (plain sources and the files of glob sources).
    private var followers: [Int: FileFollower] = [:]
    /// Glob sources by owner id.
    private var globs: [Int: GlobWatch] = [:]
    private var watches: WatchTable
    private let inotify: Inotify
    private let stopFD: Int32
    private let logger: Logger
    private var nextID = 0
    private var deadlines: [Int: Int64] = [:]
    private let store: SavedPositions?
    private var lastSaved: [String: SavedPosition] = [:]
    private let commands: FileSourceCommands?

    /// How often positions are saved (and at stop).
    static let saveNanos: Int64 = 2_000_000_000

    init(sources: [(SourceHandle, FileSourceSettings)], inotify: Inotify, stopFD: Int32, logger: Logger,
         store: SavedPositions? = nil, commands: FileSourceCommands? = nil) {
        self.store = store
        self.commands = commands
        self.inotify = inotify
        self.watches = WatchTable(inotify: inotify)
        self.stopFD = stopFD
        self.logger = logger
        for (source, settings) in sources { _ = add(source, settings) }
    }

    /// Adds a source; returns its owner id.
    private mutating func add(_ source: SourceHandle, _ settings: FileSourceSettings) -> Int {
        let writer = SourceWriter(source: source, maxLineBytes: settings.maxLineBytes)
        let id = newID()
        if GlobWatch.isPattern(settings.path) {
            globs[id] = GlobWatch(id: id, writer: writer, settings: settings)
        } else {
            followers[id] = FileFollower(index: id, writer: writer, settings: settings, saved: settings.saved)
        }
        return id
    }

    /// Stops every follower of source `name` and tells its readers.
    private mutating func remove(_ name: String) {
        var event: SourceHandle?
        for (id, f) in followers where f.source.name == name {
            var f = f
            f.stop(watches: &watches)
            followers[id] = nil
            deadlines[id] = nil
            event = f.source
        }
        for (id, g) in globs where g.writer.source.name == name {
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
        var dirty = Set(followers.keys)
        var dirtyGlobs = Set(globs.keys)
        var lastSweep = monotonicNanos()
        var lastSave = lastSweep
        while true {
            let now = monotonicNanos()
            if store != nil, now - lastSave >= Self.saveNanos {
                savePositions()
                lastSave = now
            }
            if now - lastSweep >= Self.sweepNanos {
                dirty.formUnion(followers.keys)
                dirtyGlobs.formUnion(globs.keys)
                lastSweep = now
            }
            for (id, d) in deadlines where d <= now { dirty.insert(id) }
            for id in dirtyGlobs.sorted() { dirty.formUnion(rescan(id)) }
            dirtyGlobs.removeAll(keepingCapacity: true)
            var again = false
            for id in dirty.sorted() {
                guard var f = followers[id] else { continue }
                deadlines[id] = f.check(now: now, buffer: buffer, watches: &watches, logger: logger)
                if f.hasMore { again = true }
                if !f.closedFiles.isEmpty {
                    remember(f.closedFiles, member: id)
                    f.closedFiles.removeAll()
                }
                if !f.ownsSourceState, f.isGone {
                    f.stop(watches: &watches)
                    remember(f.closedFiles, member: id)
                    followers[id] = nil
                    deadlines[id] = nil
                    forget(member: id)
                } else {
                    followers[id] = f
                }
            }
            dirty.removeAll(keepingCapacity: true)
            if again { dirty.formUnion(followers.filter { $0.value.hasMore }.keys) }

            var wake = lastSweep + Self.sweepNanos
            for d in deadlines.values { wake = min(wake, d) }
            let timeout = again ? 0 : Int32(clamping: max(0, (wake - monotonicNanos() + 999_999) / 1_000_000))
            var fds = [pollfd(fd: inotify.fd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: commands?.wakeFD ?? -1, events: Int16(POLLIN), revents: 0)]
            let r = poll(&fds, 3, timeout)
            if r < 0, errno != EINTR {
                logger.error("poll failed", metadata: ["errno": "\(errno)"])
            }
            if fds[1].revents != 0 { break }
            if fds[2].revents != 0, let commands {
                for command in commands.take() {
                    switch command {
                    case .add(let source, let settings):
                        let id = add(source, settings)
                        if globs[id] != nil { dirtyGlobs.insert(id) } else { dirty.insert(id) }
                    case .remove(let name):
                        remove(name)
                    }
                }
            }
            if fds[0].revents != 0 {
                inotify.drain(buffer: eventBuffer) { event in
                    if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        logger.warning("inotify queue overflowed; looking at every file")
                        dirty.formUnion(followers.keys)
                        dirtyGlobs.formUnion(globs.keys)
                        return
                    }
                    guard let owners = watches.followers(of: event.wd) else { return }
                    if event.mask & UInt32(IN_IGNORED) != 0 {
                        for id in owners {
                            if globs[id] != nil { dirtyGlobs.insert(id) } else { dirty.insert(id) }
                        }
                        watches.forget(event.wd)
                        return
                    }
                    for id in owners {
                        if globs[id] != nil {
                            dirtyGlobs.insert(id)
                        } else if let f = followers[id], !f.isDirectoryWatch(event.wd) || f.concerns(name: event.name) {
                            dirty.insert(id)
                        }
                    }
                }
            }
        }
        savePositions()
        for id in followers.keys { followers[id]?.stop(watches: &watches, keepPartialLine: store != nil) }
        for g in globs.values { g.stop(watches: &watches) }
        inotify.close()
    }

    /// Writes each plain file source's position (all its lines are published between checks).
    private mutating func savePositions() {
        guard let store else { return }
        var positions = lastSaved
        for f in followers.values where f.ownsSourceState {
            guard let p = f.position else { continue }
            let source = f.source
            positions[source.name] = SavedPosition(epoch: source.epoch, nextSeq: p.seq,
                                                   device: p.identity.device, inode: p.identity.inode, offset: p.offset)
        }
        guard positions != lastSaved else { return }
        if let problem = store.save(positions) {
            logger.error("cannot save positions to state_dir", metadata: ["error": "\(problem)"])
        } else {
            lastSaved = positions
        }
    }

    /// Looks for new files of glob `id`; returns the ids of followers to check now.
    private mutating func rescan(_ id: Int) -> Set<Int> {
        guard var glob = globs[id] else { return [] }
        let initial = !glob.scanned
        let paths = glob.scan(watches: &watches)
        var started: Set<Int> = []
        let open = Set(glob.members.values.flatMap { followers[$0]?.openIdentities ?? [] })
        for path in paths where glob.members[path] == nil {
            var resume: Int64?
            if case .success(let st) = FileStat.of(path: path) {
                if open.contains(st.identity) { continue }
                resume = glob.known[st.identity]
            }
            let fid = newID()
            var settings = glob.settings
            settings.path = path
            followers[fid] = FileFollower(index: fid, writer: glob.writer, settings: settings,
                                          globMember: true, firstLook: initial, resumeOffset: resume)
            glob.members[path] = fid
            started.insert(fid)
            if !initial { logger.info("glob matched a new file", metadata: ["source": "\(glob.writer.source.name)", "path": "\(path)"]) }
        }
        globs[id] = glob
        updateState(of: id)
        return started
    }

    /// Records files that a glob member closed, so that the glob does not read them again.
    private mutating func remember(_ files: [(FileIdentity, Int64)], member fid: Int) {
        guard !files.isEmpty else { return }
        for (gid, var glob) in globs where glob.members.values.contains(fid) {
            for (identity, offset) in files { glob.known[identity] = offset }
            if glob.known.count > 4096 { glob.known.removeAll() }
            globs[gid] = glob
            return
        }
    }

    /// A glob's member follower has ended: drop it from its glob.
    private mutating func forget(member fid: Int) {
        for (gid, var glob) in globs {
            if let path = glob.members.first(where: { $0.value == fid })?.key {
                glob.members[path] = nil
                globs[gid] = glob
                updateState(of: gid)
                return
            }
        }
    }

    private func updateState(of gid: Int) {
        guard let glob = globs[gid] else { return }
        let source = glob.writer.source
        if glob.members.isEmpty {
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
