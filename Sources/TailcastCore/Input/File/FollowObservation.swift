/// Names one file a ``FileFollower`` asked to open, for as long as it stays open.
public struct FileToken: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var raw: Int
    public init(_ raw: Int) { self.raw = raw }
    public static func < (a: FileToken, b: FileToken) -> Bool { a.raw < b.raw }
    public var description: String { "#\(raw)" }
}

/// What the owner of the descriptors saw, handed to ``FileFollower/observe(_:)`` as a value.
///
/// Every clock reading is a value here: the follower has no clock of its own.
public enum FollowObservation: Sendable, Equatable {
    /// The clock (monotonic nanoseconds): the safety net or a deadline came due.
    case tick(now: Int64)
    /// An inotify event concerned the follower: its directory (with the raw mask) or `file`.
    case inotify(mask: UInt32, file: FileToken?, now: Int64)
    /// The answer to ``FollowAction/look``: `stat` of the path, `fstat` of every open file
    /// (a file whose `fstat` failed is left out).
    case look(now: Int64, path: PathStat, open: [FileToken: FileInfo])
    /// The answer to ``FollowAction/open(_:path:)``: `fstat` of the new descriptor.
    case opened(FileToken, FileInfo, now: Int64)
    /// The answer to ``FollowAction/open(_:path:)`` when `open` failed.
    case openFailed(FileToken, errno: Int32, now: Int64)
    /// The answer to ``FollowAction/read(_:from:)`` and ``FollowAction/loadTail(_:size:)``.
    case read(FileToken, ReadResult)
    /// The answer to ``FollowAction/find(_:inDirectory:)``: the file with that identity, if any.
    case found(FileIdentity, FoundFile?)
    /// The thread is stopping: close everything. `keepPartialLines` when a saved position will
    /// make the next run read held partial lines whole.
    case stop(keepPartialLines: Bool)
}

/// What one read (or tail load) did.
public struct ReadResult: Sendable, Equatable {
    /// The file offset read up to.
    public var offset: Int64
    /// Bytes read by this read (0 when the file had nothing new).
    public var bytes: Int
    /// The read stopped at its budget: there is more to read at once.
    public var more: Bool
    /// Bytes of a partial line held after the read (`nil` while the rest of a cut line is skipped).
    public var heldBytes: Int?
    /// The source's next `seq` after the read's lines were published.
    public var nextSeq: UInt64
    /// The `errno` of a failed read, or 0.
    public var errno: Int32
    public var now: Int64

    public init(
        offset: Int64, bytes: Int, more: Bool = false, heldBytes: Int? = 0, nextSeq: UInt64,
        errno: Int32 = 0, now: Int64
    ) {
        self.offset = offset
        self.bytes = bytes
        self.more = more
        self.heldBytes = heldBytes
        self.nextSeq = nextSeq
        self.errno = errno
        self.now = now
    }
}

/// A file found by its identity.
public struct FoundFile: Sendable, Equatable {
    public var path: String
    public var info: FileInfo
    public init(path: String, info: FileInfo) {
        self.path = path
        self.info = info
    }
}
