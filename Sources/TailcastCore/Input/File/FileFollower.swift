/// The `tail -F` rules for one path, as a pure state machine: it is told what was observed
/// (`stat` results, inotify, read results, the clock as a value) and answers with the actions the
/// owner of the descriptors carries out (``FollowedPath`` on the file thread).
///
/// Promises:
/// - no system call, no clock and no logging of its own: every rotation case is a unit test;
/// - after a rotation (rename+create, replace, delete+recreate) the old file is read to its end
///   before the new one and kept until it has been quiet for `rotate_wait`;
/// - a new file at the path is read from its start, never from an offset that belonged to an
///   older file (even one whose inode it reuses: a deleted file is never remembered);
/// - a file that shrank (`size` below the offset, or below a size seen earlier) is reported
///   `truncated` and read again from 0;
/// - a file that appears after the start (at a path that had none, or as a new file of a glob)
///   is reported `reopened` (the contract has no other kind for it), its `detail` saying that
///   it appeared;
/// - a position saved by an earlier run is used only when the file it names is still there, under
///   the path or, rotated, in the same directory (``SavedPositionCheck``).
///
/// What cannot be known: a file truncated and written past the offset read so far between two
/// looks, with no earlier look having seen it larger, looks like a file that grew.
public struct FileFollower: Sendable {
    /// Whether the follower owns its source's state (a plain file source) or is one file of a glob.
    public enum Role: Sendable, Equatable {
        case source, globMember
    }

    /// Where the first file found at the path is read from.
    public enum Start: Sendable, Equatable {
        /// From its end, after loading its last `initial_lines` lines (the process's first look).
        case atEnd
        /// From its start (a file that appeared after the process started).
        case fromStart
        /// From `offset` of the file `identity`, saved by an earlier run or read before under
        /// another name, which must still be at least `publishedTo` long; when the path names
        /// another file, the directory is searched for it.
        case resume(FileIdentity, offset: Int64, publishedTo: Int64)
    }

    /// A file the follower has open.
    struct Tracked: Sendable, Equatable {
        var token: FileToken
        var identity: FileIdentity
        var offset: Int64
        /// The largest size seen: a smaller one later means the file was truncated.
        var seenSize: Int64
        var lastDataNanos: Int64
        var heldBytes: Int?
    }

    /// An open asked for and not answered yet.
    struct PendingOpen: Sendable, Equatable {
        enum From: Sendable, Equatable {
            case end, start
            case offset(Int64, expecting: FileIdentity)
        }
        var asCurrent: Bool
        var from: From
        var event: SourceEvent?
    }

    public let path: String
    public let directory: String
    public let role: Role
    let rotateWaitNanos: Int64
    let initialLines: Int

    private var start: Start
    private var looked = false
    private var current: Tracked?
    private var draining: [Tracked] = []
    private var pending: [FileToken: PendingOpen] = [:]
    /// A search by identity in flight: the saved offset and what the path held when it began.
    private var searching: (identity: FileIdentity, offset: Int64, publishedTo: Int64, atPath: PathStat)?
    private var goneSinceNanos: Int64?
    private var missingReported = false
    /// A look found no file at the path, and none has been open since.
    private var waitedForFile = false
    private var state: SourceState?
    private var failing = false
    private var nextToken = 1
    /// Set when a read stopped at its budget: the owner looks again at once.
    public private(set) var hasMore = false

    /// (seq, offset) pairs of the open file, oldest first, reaching back about `initial_lines`
    /// lines: a restart re-reads from the oldest, so lines a client may not have received before
    /// the stop are numbered and held again, identically.
    private var checkpoints: [(seq: UInt64, offset: Int64)] = []
    private var checkpointFile: FileIdentity?

    public init(path: String, role: Role, start: Start, rotateWaitMillis: Int, initialLines: Int) {
        self.path = path
        self.directory = Self.directory(of: path)
        self.role = role
        self.start = start
        self.rotateWaitNanos = Int64(max(0, rotateWaitMillis)) * 1_000_000
        self.initialLines = max(1, initialLines)
    }

    // MARK: what the owner reads

    /// The path stayed gone past `rotate_wait` and every file is closed (a glob drops the member).
    public var isGone: Bool { missingReported && current == nil && draining.isEmpty && pending.isEmpty }

    /// Identities of the files open now (a glob skips a new path that names one of them).
    public var openIdentities: [FileIdentity] { (current.map { [$0.identity] } ?? []) + draining.map(\.identity) }

    /// When the follower wants to look again without an event (the end of a `rotate_wait`).
    public var deadline: Int64? {
        var d = goneSinceNanos.map { $0 + rotateWaitNanos }
        for f in draining {
            let t = f.lastDataNanos + rotateWaitNanos
            d = min(d ?? t, t)
        }
        return d
    }

    /// The position a plain source saves: its open file, a line boundary about `initial_lines`
    /// lines back, and the `seq` of the line that starts there.
    public var checkpoint: (identity: FileIdentity, offset: Int64, seq: UInt64, publishedTo: Int64)? {
        guard let f = current, f.identity == checkpointFile, let first = checkpoints.first, let last = checkpoints.last else { return nil }
        return (f.identity, first.offset, first.seq, last.offset)
    }

    /// The position a glob member saves: its open file and the offset after the last line
    /// published from it.
    public var publishedEnd: (identity: FileIdentity, offset: Int64)? {
        guard let f = current, let held = f.heldBytes else { return nil }
        return (f.identity, f.offset - Int64(held))
    }

    // MARK: the machine

    /// Takes one observation; returns what to do, in order.
    public mutating func observe(_ observation: FollowObservation) -> [FollowAction] {
        switch observation {
        case .tick, .inotify:
            return [.look]
        case .look(let now, let atPath, let open):
            return look(now: now, atPath: atPath, open: open)
        case .opened(let token, let info, let now):
            return opened(token, info, now: now)
        case .openFailed(let token, let errno, _):
            return openFailed(token, errno: errno)
        case .read(let token, let result):
            return didRead(token, result)
        case .found(let identity, let file):
            return found(identity, file)
        case .stop(let keep):
            return stop(keepPartialLines: keep)
        }
    }

    private mutating func look(now: Int64, atPath: PathStat, open: [FileToken: FileInfo]) -> [FollowAction] {
        hasMore = false
        var out: [FollowAction] = []

        // 1. Old files first: they hold the older lines. Closed once quiet for rotate_wait.
        var i = 0
        while i < draining.count {
            let d = draining[i]
            let info = open[d.token]
            if let info, info.size > d.offset {
                out.append(.read(d.token, from: d.offset))
                i += 1
            } else if info == nil || info!.size < d.offset || now - d.lastDataNanos >= rotateWaitNanos {
                out.append(.close(d.token, ClosedFile(identity: d.identity, offset: d.offset, linked: (info?.links ?? 0) > 0)))
                draining.remove(at: i)
            } else {
                i += 1
            }
        }

        // 2. The open file: truncation, then what is new.
        if var c = current, let info = open[c.token] {
            if info.size < c.offset || info.size < c.seenSize {
                out.append(.emit(SourceEvent(.truncated, "\(path): file truncated")))
                out.append(.flushPartialLine(c.token))
                c.offset = 0
                c.seenSize = info.size
                c.heldBytes = 0
                checkpoints.removeAll()
            }
            c.seenSize = max(c.seenSize, info.size)
            if info.size > c.offset { out.append(.read(c.token, from: c.offset)) }
            current = c
        }

        // 3. The path.
        if !looked {
            looked = true
            return out + firstLook(now: now, atPath: atPath)
        }
        let atIdentity = atPath.regularFile?.identity
        if atIdentity != nil || current == nil { goneSinceNanos = nil }
        if atIdentity == nil, current != nil, goneSinceNanos == nil { goneSinceNanos = now }
        let decision = FollowDecision.decide(
            open: current?.identity, atPath: atIdentity, goneForNanos: goneSinceNanos.map { now - $0 },
            rotateWaitNanos: rotateWaitNanos, missingReported: missingReported, firstLook: false,
            waitedForFile: waitedForFile)
        switch decision {
        case .keep, .waitForReturn:
            break
        case .open(_, let event):
            let what = missingReported ? "file is back" : "file appeared"
            out += openPath(.start, event: event.map { SourceEvent($0, "\(path): \(what), following it from its start") })
        case .rotate:
            if var old = current {
                old.lastDataNanos = now
                draining.append(old)
                current = nil
            }
            out.append(.emit(SourceEvent(.rotated, "\(path): file replaced; old file drained for up to \(rotateWaitNanos / 1_000_000) ms")))
            out += openPath(.start, event: nil)
        case .missing:
            if var old = current {
                old.lastDataNanos = max(old.lastDataNanos, now - rotateWaitNanos)
                draining.append(old)
                current = nil
            }
            goneSinceNanos = nil
            missingReported = true
            out.append(.emit(SourceEvent(.missing, "\(path): file is gone")))
            out += report(.waiting("\(path) does not exist"))
        case .wait:
            if current == nil, draining.isEmpty, atPath.regularFile == nil { waitedForFile = true }
            out += report(waitingState(atPath))
        }
        return out
    }

    /// The first look: where the process starts reading.
    private mutating func firstLook(now: Int64, atPath: PathStat) -> [FollowAction] {
        switch start {
        case .atEnd, .fromStart:
            let appeared = start == .fromStart
            let from: PendingOpen.From = appeared ? .start : .end
            start = .fromStart
            guard atPath.regularFile != nil else {
                waitedForFile = true
                return report(waitingState(atPath))
            }
            // A file of a glob that appeared after the start: a new file, said so once.
            return openPath(from, event: appeared ? SourceEvent(.reopened, "\(path): file appeared, following it from its start") : nil)
        case .resume(let identity, let offset, let publishedTo):
            start = .fromStart
            if SavedPositionCheck.needsSearch(for: identity, atPath: atPath) {
                searching = (identity, offset, publishedTo, atPath)
                return [.find(identity, inDirectory: directory)]
            }
            return resume(
                identity, offset: offset,
                verdict: SavedPositionCheck.check(
                    identity: identity, offset: offset, publishedTo: publishedTo, atPath: atPath, found: nil), atPath: atPath)
        }
    }

    private mutating func found(_ identity: FileIdentity, _ file: FoundFile?) -> [FollowAction] {
        guard let s = searching, s.identity == identity else { return [] }
        searching = nil
        return resume(
            identity, offset: s.offset,
            verdict: SavedPositionCheck.check(
                identity: identity, offset: s.offset, publishedTo: s.publishedTo, atPath: s.atPath, found: file), atPath: s.atPath)
    }

    private mutating func resume(
        _ identity: FileIdentity, offset: Int64, verdict: SavedPositionCheck,
        atPath: PathStat
    ) -> [FollowAction] {
        switch verdict {
        case .samePath:
            return [.note(FollowNote(.info, "continuing \(path) from offset \(offset)"))]
                + openPath(.offset(offset, expecting: identity), event: nil)
        case .rotated(let rotatedPath):
            var out: [FollowAction] = [
                .emit(
                    SourceEvent(
                        .rotated,
                        "\(path): rotated to \(rotatedPath) while tailcast was stopped; reading that to its end first"))
            ]
            let token = newToken()
            pending[token] = PendingOpen(asCurrent: false, from: .offset(offset, expecting: identity), event: nil)
            out.append(.open(token, path: rotatedPath))
            if atPath.regularFile != nil {
                out += openPath(.start, event: nil)
            } else {
                waitedForFile = true
                out += report(waitingState(atPath))
            }
            return out
        case .lost(let reason):
            guard atPath.regularFile != nil else {
                waitedForFile = true
                return report(waitingState(atPath))
            }
            let kind: SourceEvent.Kind = SavedPositionCheck.needsSearch(for: identity, atPath: atPath) ? .rotated : .truncated
            return [.emit(SourceEvent(kind, "\(path): \(reason); reading it from its start"))] + openPath(.start, event: nil)
        }
    }

    private mutating func opened(_ token: FileToken, _ info: FileInfo, now: Int64) -> [FollowAction] {
        guard var p = pending.removeValue(forKey: token) else {
            return [.close(token, ClosedFile(identity: info.identity, offset: 0, linked: false))]
        }
        guard info.isRegular else {
            // The path changed between stat and open (a FIFO, a directory): not a log to follow.
            return [.close(token, ClosedFile(identity: info.identity, offset: 0, linked: false))]
                + report(waitingState(.present(info)))
        }
        if case .offset(_, let expected) = p.from, expected != info.identity { p.from = .start }
        var file = Tracked(
            token: token, identity: info.identity, offset: 0, seenSize: info.size,
            lastDataNanos: now, heldBytes: 0)
        var out: [FollowAction] = []
        if let event = p.event { out.append(.emit(event)) }
        switch p.from {
        case .end:
            file.offset = info.size
            out.append(.loadTail(token, size: info.size))
        case .start:
            out.append(.read(token, from: 0))
        case .offset(let offset, _):
            if offset <= info.size {
                file.offset = offset
            } else {
                out.append(.emit(SourceEvent(.truncated, "\(path): shorter than the saved offset \(offset); reading it from its start")))
            }
            out.append(.read(token, from: file.offset))
        }
        guard p.asCurrent else {
            draining.append(file)
            return out
        }
        current = file
        missingReported = false
        waitedForFile = false
        goneSinceNanos = nil
        let from = p.from == .end ? "end" : "offset \(file.offset)"
        out.append(.note(FollowNote(.info, "following \(path) from its \(from == "offset 0" ? "start" : from)")))
        if case .error = state, role == .source {
            out.append(.emit(SourceEvent(.recovered, "\(path): readable again")))
        }
        failing = false
        return out + report(.following)
    }

    private mutating func openFailed(_ token: FileToken, errno: Int32) -> [FollowAction] {
        pending[token] = nil
        guard errno != Self.ENOENT, errno != Self.ENOTDIR else { return [] }
        let message = SourceError(source: "", path: path, errno: errno, message: "cannot open").description
        return fail(message)
    }

    private mutating func didRead(_ token: FileToken, _ r: ReadResult) -> [FollowAction] {
        func apply(_ f: inout Tracked) {
            f.offset = r.offset
            f.seenSize = max(f.seenSize, r.offset)
            f.heldBytes = r.heldBytes
            if r.bytes > 0 { f.lastDataNanos = r.now }
        }
        if r.more { hasMore = true }
        if var c = current, c.token == token {
            apply(&c)
            current = c
            if r.errno == 0, let held = r.heldBytes { recordCheckpoint(seq: r.nextSeq, offset: r.offset - Int64(held), file: c.identity) }
        } else if let i = draining.firstIndex(where: { $0.token == token }) {
            apply(&draining[i])
            // The old file's lines took numbers after the open file's: a restart from an older
            // checkpoint would number differently. Only the open file's end holds now.
            if r.bytes > 0, let c = current, let held = c.heldBytes {
                checkpoints = [(r.nextSeq, c.offset - Int64(held))]
                checkpointFile = c.identity
            }
        }
        if r.errno != 0 {
            return fail(SourceError(source: "", path: path, errno: r.errno, message: "read failed").description)
        }
        if failing, current?.token == token {
            failing = false
            return [.emit(SourceEvent(.recovered, "\(path): readable again"))] + report(.following)
        }
        return []
    }

    private mutating func stop(keepPartialLines: Bool) -> [FollowAction] {
        // With a saved position, no line is published after it was saved: held partial lines stay.
        var out: [FollowAction] = draining.map {
            .close(
                $0.token,
                ClosedFile(
                    identity: $0.identity, offset: $0.offset, linked: true,
                    keepsPartialLine: keepPartialLines))
        }
        if let c = current {
            out.append(
                .close(
                    c.token,
                    ClosedFile(
                        identity: c.identity, offset: c.offset, linked: true,
                        keepsPartialLine: keepPartialLines)))
        }
        draining.removeAll()
        current = nil
        pending.removeAll()
        return out
    }

    // MARK: helpers

    private mutating func openPath(_ from: PendingOpen.From, event: SourceEvent?) -> [FollowAction] {
        let token = newToken()
        pending[token] = PendingOpen(asCurrent: true, from: from, event: event)
        return [.open(token, path: path)]
    }

    private mutating func newToken() -> FileToken {
        defer { nextToken += 1 }
        return FileToken(nextToken)
    }

    /// An error reported once (event, state, log) until the file reads again.
    private mutating func fail(_ message: String) -> [FollowAction] {
        guard !failing else { return role == .source ? report(.error(message)) : [] }
        failing = true
        return [.emit(SourceEvent(.error, message))] + report(.error(message))
    }

    /// A state change for a plain source (a glob's members leave the state to the glob).
    private mutating func report(_ new: SourceState) -> [FollowAction] {
        guard role == .source, new != state else { return [] }
        state = new
        var out: [FollowAction] = [.setState(new)]
        if new != .following, let why = new.message {
            out.append(.note(FollowNote(.warning, "waiting for file: \(why)")))
        }
        return out
    }

    /// Why there is nothing to follow at the path.
    private func waitingState(_ atPath: PathStat) -> SourceState {
        switch atPath {
        case .present(let info):
            switch info.kind {
            case .directory: return .error("\(path) is not a regular file (a directory?)")
            case .fifo: return .error("\(path) is a FIFO, not a regular file")
            case .regular: return .following
            case .other: return .error("\(path) is not a regular file")
            }
        case .absent(let directoryMissing):
            return .waiting(directoryMissing ? "\(path): directory \(directory) does not exist" : "\(path) does not exist")
        case .failed(let errno):
            let message = SourceError(source: "", path: path, errno: errno, message: "cannot stat").description
            return errno == Self.EACCES ? .error(message) : .waiting(message)
        }
    }

    private mutating func recordCheckpoint(seq: UInt64, offset: Int64, file: FileIdentity) {
        if checkpointFile != file {
            checkpoints.removeAll()
            checkpointFile = file
        }
        if let last = checkpoints.last, last.seq == seq { return }
        checkpoints.append((seq, offset))
        let keep = UInt64(initialLines)
        while checkpoints.count > 1, seq - checkpoints[1].seq >= keep { checkpoints.removeFirst() }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    // Linux errno values the rules tell apart (this file imports no C).
    static let ENOENT: Int32 = 2
    static let EACCES: Int32 = 13
    static let ENOTDIR: Int32 = 20
}
