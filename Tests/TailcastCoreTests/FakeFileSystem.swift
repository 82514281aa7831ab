@testable import TailcastCore

/// An in-memory file system for the follow rules: names, inodes, sizes, links. No disk.
struct FakeFileSystem {
    struct Node {
        var size: Int64
        var links: Int
        var kind: FileInfo.Kind
    }

    var nodes: [UInt64: Node] = [:]
    var names: [String: UInt64] = [:]
    var nextInode: UInt64 = 100

    func identity(_ inode: UInt64) -> FileIdentity { FileIdentity(device: 1, inode: inode) }

    @discardableResult
    mutating func create(_ path: String, size: Int64 = 0, kind: FileInfo.Kind = .regular, inode: UInt64? = nil) -> UInt64 {
        var ino: UInt64
        if let inode {
            ino = inode
        } else {
            nextInode += 1
            ino = nextInode
        }
        precondition(nodes[ino] == nil || nodes[ino]!.links == 0, "inode in use")
        nodes[ino] = Node(size: size, links: 1, kind: kind)
        names[path] = ino
        return ino
    }

    mutating func append(_ path: String, _ bytes: Int64) { nodes[names[path]!]!.size += bytes }
    mutating func grow(inode: UInt64, _ bytes: Int64) { nodes[inode]!.size += bytes }
    mutating func truncate(_ path: String, to size: Int64) { nodes[names[path]!]!.size = size }

    mutating func rename(_ from: String, _ to: String) {
        if let old = names[to] { nodes[old]!.links -= 1 }
        names[to] = names.removeValue(forKey: from)
    }

    mutating func unlink(_ path: String) {
        let ino = names.removeValue(forKey: path)!
        nodes[ino]!.links -= 1
    }

    func info(_ inode: UInt64) -> FileInfo {
        let n = nodes[inode]!
        return FileInfo(identity: identity(inode), size: n.size, links: n.links, kind: n.kind)
    }

    func stat(_ path: String) -> PathStat {
        guard let ino = names[path] else { return .absent(directoryMissing: false) }
        return .present(info(ino))
    }
}

/// Carries out a follower's actions against a ``FakeFileSystem`` as ``FollowedPath`` does
/// against the kernel, and records what a reader of the source would see.
struct FollowHarness {
    var fs = FakeFileSystem()
    var follower: FileFollower
    var now: Int64 = 0
    var open: [FileToken: UInt64] = [:]
    /// (inode, from, to) of every read with data, in order.
    var reads: [(inode: UInt64, from: Int64, to: Int64)] = []
    var tails: [(inode: UInt64, size: Int64)] = []
    var events: [SourceEvent.Kind] = []
    var states: [SourceState] = []
    var closed: [ClosedFile] = []
    var flushedPartial = 0
    /// Held partial line bytes reported after each read (a fake splitter: set by the test).
    var held = 0
    /// Stop each read at `budget` bytes (`nil`: read to the end).
    var budget: Int64?
    var nextSeq: UInt64 = 1
    var openErrno: Int32?
    /// Every action, for tests that check order.
    var log: [FollowAction] = []

    static let rotateWait: Int64 = 1_000_000_000

    init(path: String = "/var/log/app.log", role: FileFollower.Role = .source, start: FileFollower.Start = .atEnd) {
        follower = FileFollower(path: path, role: role, start: start, rotateWaitMillis: 1000, initialLines: 10)
    }

    var path: String { follower.path }

    mutating func look(after nanos: Int64 = 0) {
        now += nanos
        perform(follower.observe(.tick(now: now)))
    }

    mutating func stop(keepPartialLines: Bool) {
        perform(follower.observe(.stop(keepPartialLines: keepPartialLines)))
    }

    mutating func perform(_ actions: [FollowAction]) {
        for action in actions {
            log.append(action)
            var answer: FollowObservation?
            switch action {
            case .look:
                answer = .look(now: now, path: fs.stat(path), open: open.mapValues { fs.info($0) })
            case .open(let token, let p):
                if let e = openErrno {
                    answer = .openFailed(token, errno: e, now: now)
                } else if let ino = fs.names[p] {
                    open[token] = ino
                    answer = .opened(token, fs.info(ino), now: now)
                } else {
                    answer = .openFailed(token, errno: 2, now: now)
                }
            case .loadTail(let token, let size):
                tails.append((open[token]!, size))
                answer = .read(token, ReadResult(offset: size, bytes: 0, heldBytes: held, nextSeq: nextSeq, now: now))
            case .read(let token, let from):
                let ino = open[token]!
                var to = fs.nodes[ino]!.size
                var more = false
                if let budget, to - from > budget {
                    to = from + budget
                    more = true
                }
                if to > from {
                    reads.append((ino, from, to))
                    nextSeq += UInt64(to - from)
                }
                answer = .read(
                    token,
                    ReadResult(
                        offset: max(to, from), bytes: Int(max(0, to - from)), more: more,
                        heldBytes: held, nextSeq: nextSeq, now: now))
            case .flushPartialLine:
                flushedPartial += 1
            case .close(let token, let c):
                open[token] = nil
                closed.append(c)
            case .find(let identity, let dir):
                let hit = fs.names.first { name, ino in
                    fs.identity(ino) == identity && name.hasPrefix(dir + "/") && fs.nodes[ino]!.kind == .regular
                }
                answer = .found(identity, hit.map { FoundFile(path: $0.key, info: fs.info($0.value)) })
            case .emit(let e):
                events.append(e.kind)
            case .setState(let s):
                states.append(s)
            case .note:
                break
            }
            if let answer { perform(follower.observe(answer)) }
        }
    }

    /// Reads of inode `ino`, as (from, to) pairs.
    func reads(of ino: UInt64) -> [[Int64]] { reads.filter { $0.inode == ino }.map { [$0.from, $0.to] } }
    var lastState: SourceState? { states.last }
}
