import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One followed path on the file thread: a ``FileFollower`` and the descriptors it asked for.
/// It carries out the follower's actions (open, read, close, find, publish, log) and feeds the
/// answers back; it decides nothing itself.
///
/// Promises: confined to the file thread; every descriptor it opens is closed by a `close`
/// action or by ``stop(keepPartialLines:now:watches:buffer:logger:)``; lines are published once
/// per read (a batch), never one at a time.
struct FollowedPath {
    /// A descriptor the follower has open.
    private struct OpenDescriptor {
        var fd: Int32
        var splitter: LineSplitter
        var watch: Int32?
    }

    let id: Int
    private(set) var follower: FileFollower
    let writer: SourceWriter
    private let settings: FileSourceSettings
    /// For files of a glob source: the path each line carries as `file`.
    private let fileLabel: String?
    private var files: [FileToken: OpenDescriptor] = [:]
    private var directoryWatch: Int32?
    /// Files closed since the owner last took them (a glob remembers renamed ones).
    var closedFiles: [ClosedFile] = []

    /// Bytes read from one file in one read before the thread turns to other files.
    static let readBudget = 16 << 20

    init(id: Int, writer: SourceWriter, settings: FileSourceSettings, role: FileFollower.Role, start: FileFollower.Start) {
        self.id = id
        self.writer = writer
        self.settings = settings
        self.fileLabel = role == .globMember ? settings.path : nil
        self.follower = FileFollower(
            path: settings.path, role: role, start: start,
            rotateWaitMillis: settings.rotateWaitMillis, initialLines: settings.initialLines)
    }

    var source: SourceHandle { writer.source }

    /// Whether `wd` is this path's directory watch.
    func isDirectoryWatch(_ wd: Int32) -> Bool { directoryWatch == wd }

    /// Whether an event for `name` in the watched directory concerns this path.
    func concerns(name: String?) -> Bool {
        guard let name else { return true }
        return name[...] == baseName
    }

    private var baseName: Substring {
        let p = settings.path
        guard let slash = p.lastIndex(of: "/") else { return p[...] }
        return p[p.index(after: slash)...]
    }

    /// Looks at the path and its files and does what the follower asks.
    mutating func check(now: Int64, watches: inout WatchTable, buffer: UnsafeMutableRawBufferPointer, logger: Logger) {
        if let wd = directoryWatch, watches.followers(of: wd) == nil { directoryWatch = nil }
        if directoryWatch == nil,
            case .success(let wd) = watches.watch(follower.directory, mask: WatchTable.directoryMask, owner: id)
        {
            directoryWatch = wd
        }
        perform(follower.observe(.tick(now: now)), now: now, watches: &watches, buffer: buffer, logger: logger)
    }

    /// Closes every file (shutdown) and the directory watch.
    mutating func stop(
        keepPartialLines: Bool, now: Int64, watches: inout WatchTable,
        buffer: UnsafeMutableRawBufferPointer, logger: Logger
    ) {
        perform(
            follower.observe(.stop(keepPartialLines: keepPartialLines)), now: now, watches: &watches,
            buffer: buffer, logger: logger)
        for (token, var d) in files {
            close(token, &d, publishPartialLine: !keepPartialLines, watches: &watches)
        }
        files.removeAll()
        if let wd = directoryWatch { watches.unwatch(wd, owner: id) }
        directoryWatch = nil
        writer.flush()
    }

    private mutating func perform(
        _ actions: [FollowAction], now: Int64, watches: inout WatchTable,
        buffer: UnsafeMutableRawBufferPointer, logger: Logger
    ) {
        for action in actions {
            let answer: FollowObservation?
            switch action {
            case .look:
                var open: [FileToken: FileInfo] = [:]
                for (token, d) in files {
                    if let info = FileSystemProbe.info(fd: d.fd) { open[token] = info }
                }
                answer = .look(now: now, path: FileSystemProbe.info(path: settings.path), open: open)
            case .open(let token, let path):
                answer = openFile(token, path: path, now: now, watches: &watches)
            case .loadTail(let token, let size):
                guard var d = files[token] else { continue }
                loadTail(&d, size: size)
                files[token] = d
                answer = .read(
                    token,
                    ReadResult(
                        offset: size, bytes: 0, heldBytes: d.splitter.heldBytes,
                        nextSeq: source.ring.bounds.next, now: now))
            case .read(let token, let offset):
                guard var d = files[token] else { continue }
                let result = read(&d, from: offset, now: now, buffer: buffer)
                files[token] = d
                answer = .read(token, result)
            case .flushPartialLine(let token):
                guard var d = files[token] else { continue }
                d.splitter.flush { line, cut in writer.append(line, truncated: cut, file: fileLabel) }
                files[token] = d
                writer.flush()
                answer = nil
            case .close(let token, let closed):
                if var d = files.removeValue(forKey: token) {
                    close(token, &d, publishPartialLine: !closed.keepsPartialLine, watches: &watches)
                    logger.debug("closed file", metadata: ["source": "\(source.name)", "path": "\(settings.path)"])
                }
                closedFiles.append(closed)
                answer = nil
            case .find(let identity, let directory):
                let found = FileSystemProbe.find(identity, in: directory).map { FoundFile(path: $0.path, info: $0.info) }
                answer = .found(identity, found)
            case .emit(let event):
                writer.record(event)
                let level: Logger.Level = event.kind == .error ? .error : (event.kind == .missing ? .warning : .notice)
                logger.log(level: level, "\(event.kind.rawValue): \(event.detail)", metadata: ["source": "\(source.name)"])
                answer = nil
            case .setState(let state):
                source.setState(state)
                answer = nil
            case .note(let note):
                let level: Logger.Level =
                    switch note.level {
                    case .debug: .debug
                    case .info: .info
                    case .warning: .warning
                    }
                logger.log(level: level, "\(note.message)", metadata: ["source": "\(source.name)", "path": "\(settings.path)"])
                answer = nil
            }
            if let answer {
                perform(follower.observe(answer), now: now, watches: &watches, buffer: buffer, logger: logger)
            }
        }
    }

    private mutating func openFile(_ token: FileToken, path: String, now: Int64, watches: inout WatchTable) -> FollowObservation {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .openFailed(token, errno: errno, now: now) }
        // The watch comes before the first read, so nothing written after that read goes unseen.
        var watch: Int32?
        if case .success(let wd) = watches.watch("/proc/self/fd/\(fd)", mask: WatchTable.fileMask, owner: id) {
            watch = wd
        }
        guard let info = FileSystemProbe.info(fd: fd) else {
            let e = errno
            if let watch { watches.unwatch(watch, owner: id) }
            Glibc.close(fd)
            return .openFailed(token, errno: e, now: now)
        }
        files[token] = OpenDescriptor(fd: fd, splitter: LineSplitter(maxLineBytes: settings.maxLineBytes), watch: watch)
        return .opened(token, info, now: now)
    }

    private func close(_ token: FileToken, _ d: inout OpenDescriptor, publishPartialLine: Bool, watches: inout WatchTable) {
        if publishPartialLine {
            d.splitter.flush { line, cut in writer.append(line, truncated: cut, file: fileLabel) }
            writer.flush()
        }
        if let wd = d.watch { watches.unwatch(wd, owner: id) }
        Glibc.close(d.fd)
        d.fd = -1
    }

    /// Reads from `offset` to the end of the file or the read budget and publishes the lines.
    private func read(_ d: inout OpenDescriptor, from offset: Int64, now: Int64, buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        var total = 0
        var position = offset
        var stamped = false
        var failure: Int32 = 0
        while total < Self.readBudget {
            let n = pread(d.fd, buffer.baseAddress, buffer.count, off_t(position))
            if n < 0 {
                if errno == EINTR { continue }
                failure = errno
                break
            }
            if n == 0 { break }
            if !stamped {
                writer.stamp(.now())
                stamped = true
            }
            position += Int64(n)
            total += n
            d.splitter.split(UnsafeRawBufferPointer(start: buffer.baseAddress, count: n)) { line, cut in
                writer.append(line, truncated: cut, file: fileLabel)
            }
            writer.read(bytes: n)
        }
        writer.flush()
        return ReadResult(
            offset: position, bytes: total, more: total >= Self.readBudget, heldBytes: d.splitter.heldBytes,
            nextSeq: source.ring.bounds.next, errno: failure, now: now)
    }

    /// Loads the last `initial_lines` complete lines before `size` and holds a trailing
    /// partial line; the file is then followed from `size`.
    private func loadTail(_ d: inout OpenDescriptor, size: Int64) {
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
            let n = piece.withUnsafeMutableBytes { pread(d.fd, $0.baseAddress, $0.count, off_t(from)) }
            guard n == piece.count else { break }
            newlines += piece.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            data = piece + data
            start = from
            if want == 0 { break }
        }
        guard let lastNL = data.lastIndex(of: 0x0A) else {
            if start == 0 { data.withUnsafeBytes { d.splitter.split($0) { _, _ in } } }
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
        let label = fileLabel
        let writer = self.writer
        data.withUnsafeBytes { all in
            if begin <= lastNL {
                d.splitter.split(UnsafeRawBufferPointer(rebasing: all[begin...lastNL])) { line, cut in
                    writer.append(line, truncated: cut, file: label)
                }
            }
            d.splitter.split(UnsafeRawBufferPointer(rebasing: all[(lastNL + 1)...])) { line, cut in
                writer.append(line, truncated: cut, file: label)
            }
        }
        writer.read(bytes: data.count - begin)
        writer.flush()
    }
}
