/// What a ``FileFollower`` asks the owner of the descriptors to do, in order.
///
/// Actions that need an answer name the observation that answers them; the owner performs an
/// action, feeds its answer back at once, and performs the actions that answer returns before
/// going on with the rest (depth first), so an old file's lines are published before a new one's.
public enum FollowAction: Sendable, Equatable {
    /// `stat` the path and `fstat` every open file; answer ``FollowObservation/look(now:path:open:)``.
    case look
    /// Open `path` read-only; answer ``FollowObservation/opened(_:_:now:)`` or `openFailed`.
    case open(FileToken, path: String)
    /// Publish the last `initial_lines` complete lines before `size` and hold a trailing partial
    /// line; answer ``FollowObservation/read(_:_:)`` with `offset == size`.
    case loadTail(FileToken, size: Int64)
    /// Read from `from` to the end of the file (or the read budget), publish its complete lines,
    /// hold a partial one; answer ``FollowObservation/read(_:_:)``.
    case read(FileToken, from: Int64)
    /// Publish the partial line held for the file and start splitting afresh (a truncation).
    case flushPartialLine(FileToken)
    /// Close the file; publish its held partial line unless `closed.keepsPartialLine`.
    case close(FileToken, ClosedFile)
    /// Look in `inDirectory` for the regular file with this identity; answer ``FollowObservation/found(_:_:)``.
    case find(FileIdentity, inDirectory: String)
    /// Record an event in the source's ring (after the lines published so far) and log it.
    case emit(SourceEvent)
    /// Publish the source's state (only a follower that owns its source's state asks).
    case setState(SourceState)
    /// Log a message about the path.
    case note(FollowNote)
}

/// A file a follower is done with.
public struct ClosedFile: Sendable, Equatable {
    public var identity: FileIdentity
    /// The offset read up to.
    public var offset: Int64
    /// The file still has a name somewhere (it was renamed, not deleted): a glob that meets it
    /// under a new name continues at `offset` instead of reading it again.
    public var linked: Bool
    /// Drop a held partial line instead of publishing it (stop with a saved position).
    public var keepsPartialLine: Bool

    public init(identity: FileIdentity, offset: Int64, linked: Bool, keepsPartialLine: Bool = false) {
        self.identity = identity
        self.offset = offset
        self.linked = linked
        self.keepsPartialLine = keepsPartialLine
    }
}

/// A log message a follower wants written, with its level.
public struct FollowNote: Sendable, Equatable {
    public enum Level: Sendable, Equatable { case debug, info, warning }
    public var level: Level
    public var message: String
    public init(_ level: Level, _ message: String) {
        self.level = level
        self.message = message
    }
}
