#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Follows one path with `tail -F` semantics and feeds its lines to the source's ring.
///
/// Promises: owned and driven by the file thread only; reads an old file to its end before the
/// new one after a rotation and keeps reading it until it has been quiet for `rotate_wait`;
/// reports every change as an event and a log line naming the path; never reads a new file
/// from a stale offset.
struct FileFollower {
    /// A file the follower has open.
    struct OpenFile {
        var fd: Int32
        var identity: FileIdentity
        var offset: Int64
        var splitter: LineSplitter
        var lastDataNanos: Int64
        var watch: Int32?
    }

    let index: Int
    let source: SourceHandle
    let settings: FileSourceSettings
    let directory: String
    let baseName: String
    private let rotateWaitNanos: Int64
    private let writer: SourceWriter
    /// For files of a glob source: the path each line carries as `file`.
    private let fileLabel: String?
    /// `false` for files of a glob source: a gone file is reported, then dropped by its glob.
    let ownsSourceState: Bool
    private var current: OpenFile?
    private var draining: [OpenFile] = []
    private var directoryWatch: Int32?
    private var goneSinceNanos: Int64?
    private var missingReported = false
    private var firstLook: Bool
    /// The path stayed gone past `rotate_wait` (a glob drops such a file once it is drained).
    var isGone: Bool { missingReported && current == nil && draining.isEmpty }
    /// Identities of the files open now (a glob skips a new path that names one of them).
    var openIdentities: [FileIdentity] { (current.map { [$0.identity] } ?? []) + draining.map(\.identity) }
    /// Set when a read stopped at its budget: the thread checks again at once.
    private(set) var hasMore = false

    /// Bytes read from one file in one pass before the thread turns to other files.
    static let readBudget = 16 << 20

    /// Files closed after draining, with the offset read to (a glob remembers them, so that a
    /// rotated file renamed into a matching name is not read again).
    var closedFiles: [(FileIdentity, Int64)] = []
    /// For a glob member whose file was already read up to here under another name.
    private var resumeOffset: Int64?

    /// A position saved by an earlier run: the first look continues from it when the file is
    /// the same one, and reports a rotation or truncation when it is not.
    private var saved: SavedPosition?

    init(index: Int, writer: SourceWriter, settings: FileSourceSettings, globMember: Bool = false, firstLook: Bool = true,
         resumeOffset: Int64? = nil, saved: SavedPosition? = nil) {
        self.resumeOffset = resumeOffset
        self.saved = saved
        self.index = index
        self.source = writer.source
        self.writer = writer
        self.settings = settings
        self.fileLabel = globMember ? settings.path : nil
        self.ownsSourceState = !globMember
        self.firstLook = firstLook
        let path = settings.path
        if let slash = path.lastIndex(of: "/") {
            let dir = String(path[..<slash])
            directory = dir.isEmpty ? "/" : dir
            baseName = String(path[path.index(after: slash)...])
        } else {
            directory = "."
            baseName = path
        }
        rotateWaitNanos = Int64(max(0, settings.rotateWaitMillis)) * 1_000_000
    }

    /// Whether an inotify event in the watched directory concerns this follower.
    func concerns(name: String?) -> Bool {
        name == nil || name == baseName
    }

    /// Whether `wd` is this follower's directory watch.
    func isDirectoryWatch(_ wd: Int32) -> Bool { directoryWatch == wd }

    /// Looks at the path and the open files, reads what is new, and publishes it.
    /// Returns the monotonic time by which it wants to look again, if any.
    mutating func check(now: Int64, buffer: UnsafeMutableRawBufferPointer,
                        watches: inout WatchTable, logger: Logger) -> Int64? {
        hasMore = false
        if let wd = directoryWatch, watches.followers(of: wd) == nil { directoryWatch = nil }
        if directoryWatch == nil {
            if case .success(let wd) = watches.watch(directory, mask: WatchTable.directoryMask, owner: index) {
                directoryWatch = wd
            }
        }

        // 1. Old files first: they hold the older lines.
        var i = 0
        while i < draining.count {
            var file = draining[i]
            read(&file, now: now, buffer: buffer, logger: logger)
            draining[i] = file
            if now - draining[i].lastDataNanos >= rotateWaitNanos && !hasMore {
                var old = draining.remove(at: i)
                close(&old, watches: &watches)
                logger.debug("closed drained file", metadata: ["source": "\(source.name)", "path": "\(settings.path)"])
            } else {
                i += 1
            }
        }

        // 2. The open file: truncation, then new data.
        if var file = current {
            if case .success(let st) = FileStat.of(fd: file.fd), st.size < file.offset {
                report(.truncated, "\(settings.path): file truncated", logger: logger)
                file.splitter.flush { line, cut in writer.append(line, truncated: cut, file: fileLabel) }
                file.offset = 0
            }
            read(&file, now: now, buffer: buffer, logger: logger)
            current = file
        }

        // 3. The path.
        var atPath: FileIdentity?
        var pathErrno: Int32 = 0
        switch FileStat.of(path: settings.path) {
        case .success(let st) where st.isRegular: atPath = st.identity
        case .success: pathErrno = EISDIR
        case .failure(let e): pathErrno = e.code
        }
        if atPath != nil || current == nil { goneSinceNanos = nil }
        if atPath == nil, current != nil, goneSinceNanos == nil { goneSinceNanos = now }
        let decision = FollowDecision.decide(
            open: current?.identity, atPath: atPath,
            goneForNanos: goneSinceNanos.map { now - $0 },
            rotateWaitNanos: rotateWaitNanos, missingReported: missingReported, firstLook: firstLook)
        switch decision {
        case .keep, .waitForReturn:
            break
        case .open(var atEnd, var event):
            if let saved, firstLook, let st = try? FileStat.of(path: settings.path).get() {
                let same = st.identity == FileIdentity(device: saved.device, inode: saved.inode)
                if same, st.size >= saved.offset {
                    resumeOffset = saved.offset
                    logger.info("continuing from the saved position", metadata: ["source": "\(source.name)", "offset": "\(saved.offset)"])
                } else {
                    // Changed while the server was down: as on a live rotation or truncation.
                    atEnd = false
                    event = nil
                    report(same ? .truncated : .rotated,
                           "\(settings.path): \(same ? "truncated" : "replaced") while tailcast was stopped; reading it from its start",
                           logger: logger)
                }
                self.saved = nil
            }
            if openPath(atEnd: atEnd, now: now, watches: &watches, logger: logger) {
                if let event {
                    report(event, "\(settings.path): file is back, following it from its start", logger: logger)
                } else if !atEnd {
                    logger.info("file appeared, following it", metadata: ["source": "\(source.name)", "path": "\(settings.path)"])
                }
                missingReported = false
            }
        case .rotate:
            if var old = current {
                old.lastDataNanos = now
                draining.append(old)
                current = nil
            }
            report(.rotated, "\(settings.path): file replaced; old file drained for up to \(settings.rotateWaitMillis) ms", logger: logger)
            _ = openPath(atEnd: false, now: now, watches: &watches, logger: logger)
            missingReported = false
        case .missing:
            if var old = current {
                old.lastDataNanos = max(old.lastDataNanos, now - rotateWaitNanos)
                draining.append(old)
                current = nil
            }
            goneSinceNanos = nil
            missingReported = true
            report(.missing, "\(settings.path): file is gone", logger: logger)
            if ownsSourceState { source.setState(.waiting("\(settings.path) does not exist")) }
        case .wait:
            let why = pathErrno == EISDIR ? "is not a regular file (a directory?)"
                : pathErrno == ENOENT || pathErrno == ENOTDIR ? (directoryWatch == nil ? "directory \(directory) does not exist" : "does not exist")
                : String(cString: strerror(pathErrno))
            let state: SourceState = pathErrno == EISDIR || pathErrno == EACCES
                ? .error("\(settings.path) \(why)") : .waiting("\(settings.path) \(why)")
            if ownsSourceState, source.setState(state) != state, firstLook {
                logger.warning("waiting for file", metadata: ["source": "\(source.name)", "path": "\(settings.path)", "reason": "\(why)"])
            }
        }
        firstLook = false

        // 4. The (new) open file.
        if var file = current {
            read(&file, now: now, buffer: buffer, logger: logger)
            current = file
        }
        flush()
        if ownsSourceState { recordCheckpoint() }

        var deadline: Int64?
        for f in draining {
            let d = f.lastDataNanos + rotateWaitNanos
            deadline = min(deadline ?? d, d)
        }
        if let g = goneSinceNanos {
            let d = g + rotateWaitNanos
            deadline = min(deadline ?? d, d)
        }
        return deadline
    }

    /// (seq, offset) pairs of the open file after recent publishes, oldest first, reaching back
    /// about `initial_lines` lines: a restart re-reads from the oldest, so the lines a client may
    /// not have received before the stop are numbered and held again, identically.
    private var checkpoints: [(seq: UInt64, offset: Int64)] = []
    private var checkpointFile: FileIdentity?

    /// The position to save: the open file, and a line boundary about `initial_lines` lines back
    /// with the `seq` of the line that starts there.
    var position: (identity: FileIdentity, offset: Int64, seq: UInt64)? {
        guard let f = current, f.identity == checkpointFile, let first = checkpoints.first else { return nil }
        return (f.identity, first.offset, first.seq)
    }

    private mutating func recordCheckpoint() {
        guard let f = current, let held = f.splitter.heldBytes else { return }
        if checkpointFile != f.identity {
            checkpoints.removeAll()
            checkpointFile = f.identity
        }
        let next = source.ring.bounds.next
        let offset = f.offset - Int64(held)
        if let last = checkpoints.last, last.seq == next { return }
        checkpoints.append((next, offset))
        let keep = UInt64(max(1, settings.initialLines))
        while checkpoints.count > 1, next - checkpoints[1].seq >= keep { checkpoints.removeFirst() }
    }

    /// Closes every file (shutdown), publishing held partial lines.
    mutating func stop(watches: inout WatchTable, keepPartialLine: Bool = false) {
        for var f in draining { close(&f, watches: &watches) }
        draining.removeAll()
        if var f = current {
            // With a saved position the next run reads the partial line whole: do not emit it now.
            if keepPartialLine { f.splitter.reset() }
            close(&f, watches: &watches)
        }
        current = nil
        flush()
        if let wd = directoryWatch { watches.unwatch(wd, owner: index) }
        directoryWatch = nil
    }

    private mutating func openPath(atEnd: Bool, now: Int64, watches: inout WatchTable, logger: Logger) -> Bool {
        let fd = open(settings.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let e = errno
            if e != ENOENT {
                let err = SourceError(source: source.name, path: settings.path, errno: e, message: "cannot open")
                if case .error = source.setState(.error(err.description)) {} else {
                    source.ring.record(SourceEvent(.error, err.description))
                    logger.error("cannot open file", metadata: ["source": "\(source.name)", "error": "\(err.description)"])
                }
            }
            return false
        }
        guard case .success(let st) = FileStat.of(fd: fd) else {
            Glibc.close(fd)
            return false
        }
        var file = OpenFile(fd: fd, identity: st.identity, offset: 0,
                            splitter: LineSplitter(maxLineBytes: settings.maxLineBytes),
                            lastDataNanos: now, watch: nil)
        if case .success(let wd) = watches.watch("/proc/self/fd/\(fd)", mask: WatchTable.fileMask, owner: index) {
            file.watch = wd
        }
        if let offset = resumeOffset, offset <= st.size {
            file.offset = offset
            resumeOffset = nil
        } else if atEnd {
            loadTail(&file, size: st.size)
        }
        current = file
        let old = ownsSourceState ? source.setState(.following) : .following
        if case .error = old {
            report(.recovered, "\(settings.path): readable again", logger: logger)
        }
        logger.info("following file", metadata: ["source": "\(source.name)", "path": "\(settings.path)", "from": "\(atEnd ? "end" : "start")"])
        return true
    }

    /// Loads the last `initial_lines` complete lines before `size` and holds a trailing
    /// partial line; the file is then followed from `size`.
    private mutating func loadTail(_ file: inout OpenFile, size: Int64) {
        file.offset = size
        guard size > 0 else { return }
        let want = max(0, settings.initialLines)
        let maxBack = Int64(max(64 << 10, min(source.ring.maxBytes, 64 << 20)))
        var start = size
        var newlines = 0
        var data: [UInt8] = []
        let chunk: Int64 = 64 << 10
        while start > 0, newlines <= want, size - start < maxBack {
            let from = max(0, start - chunk)
            var piece = [UInt8](repeating: 0, count: Int(start - from))
            let n = piece.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress, $0.count, off_t(from)) }
            guard n == piece.count else { break }
            newlines += piece.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            data = piece + data
            start = from
            if want == 0 { break }
        }
        guard let lastNL = data.lastIndex(of: 0x0A) else {
            if start == 0 { data.withUnsafeBytes { file.splitter.split($0) { _, _ in } } }
            return
        }
        // Newlines from the end: the last `want` lines start after the (want+1)-th one.
        var newlinesFromEnd = [lastNL]
        var j = lastNL
        while newlinesFromEnd.count <= want, let prev = data[..<j].lastIndex(of: 0x0A) {
            newlinesFromEnd.append(prev)
            j = prev
        }
        let begin: Int
        if newlinesFromEnd.count > want {
            begin = newlinesFromEnd[want] + 1
        } else {
            begin = start == 0 ? 0 : newlinesFromEnd[newlinesFromEnd.count - 1] + 1
        }
        writer.stamp(.now())
        data.withUnsafeBytes { all in
            if begin <= lastNL {
                file.splitter.split(UnsafeRawBufferPointer(rebasing: all[begin...lastNL])) { line, cut in
                    writer.append(line, truncated: cut, file: fileLabel)
                }
            }
            file.splitter.split(UnsafeRawBufferPointer(rebasing: all[(lastNL + 1)...])) { line, cut in
                writer.append(line, truncated: cut, file: fileLabel)
            }
        }
        writer.read(bytes: data.count - begin)
        flush()
    }

    private mutating func read(_ file: inout OpenFile, now: Int64, buffer: UnsafeMutableRawBufferPointer, logger: Logger) {
        var total = 0
        var stamped = false
        while total < Self.readBudget {
            let n = pread(file.fd, buffer.baseAddress, buffer.count, off_t(file.offset))
            if n < 0 {
                if errno == EINTR { continue }
                let err = SourceError(source: source.name, path: settings.path, errno: errno, message: "read failed")
                if case .error = source.setState(.error(err.description)) {} else {
                    report(.error, err.description, logger: logger)
                }
                return
            }
            if n == 0 { break }
            if !stamped {
                writer.stamp(.now())
                stamped = true
            }
            file.offset += Int64(n)
            file.lastDataNanos = now
            total += n
            file.splitter.split(UnsafeRawBufferPointer(start: buffer.baseAddress, count: n)) { line, cut in
                writer.append(line, truncated: cut, file: fileLabel)
            }
            writer.read(bytes: n)
        }
        if total >= Self.readBudget { hasMore = true }
    }

    private mutating func close(_ file: inout OpenFile, watches: inout WatchTable) {
        file.splitter.flush { line, cut in writer.append(line, truncated: cut, file: fileLabel) }
        closedFiles.append((file.identity, file.offset))
        if let wd = file.watch { watches.unwatch(wd, owner: index) }
        Glibc.close(file.fd)
        file.fd = -1
        flush()
    }

    private func flush() {
        writer.flush()
    }

    private mutating func report(_ kind: SourceEvent.Kind, _ detail: String, logger: Logger) {
        writer.record(SourceEvent(kind, detail))
        let level: Logger.Level = kind == .error ? .error : (kind == .missing ? .warning : .notice)
        logger.log(level: level, "\(kind.rawValue): \(detail)", metadata: ["source": "\(source.name)"])
    }
}
