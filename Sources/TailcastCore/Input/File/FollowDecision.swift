/// The `tail -F` rules for one path, as a pure function: what the follower does after it
/// looked at the path (`stat`) and at the file it has open.
///
/// Promises: no I/O; every rotation case is decided here, so each is unit-tested without a disk.
public enum FollowDecision: Equatable, Sendable {
    /// Nothing changed.
    case keep
    /// Open the file at the path. `atEnd` starts at its end after loading its last lines
    /// (first start of the process); otherwise read it from its start. `event` is reported.
    case open(atEnd: Bool, event: SourceEvent.Kind?)
    /// The path names a new file: drain the open one to its end, then follow the new one from 0.
    case rotate
    /// The path is gone: keep the open file and wait up to `rotate_wait` for a new one.
    case waitForReturn
    /// The path stayed gone past `rotate_wait`: report `missing`, drain the open file.
    case missing
    /// Nothing to follow yet: the source waits.
    case wait

    /// - Parameters:
    ///   - open: identity of the file the follower has open, if any.
    ///   - atPath: identity of the regular file at the path now, or `nil` when there is none.
    ///   - goneForNanos: how long the path has been gone while a file was open, if it is.
    ///   - rotateWaitNanos: the configured `rotate_wait`.
    ///   - missingReported: `missing` was already reported and no file came back since.
    ///   - firstLook: this is the process's first look at the path.
    ///   - waitedForFile: no file was at the path at an earlier look and none has been open
    ///     since (the file appears after the start): reported as `reopened` too.
    public static func decide(
        open: FileIdentity?, atPath: FileIdentity?, goneForNanos: Int64?,
        rotateWaitNanos: Int64, missingReported: Bool, firstLook: Bool, waitedForFile: Bool = false
    ) -> FollowDecision {
        switch (open, atPath) {
        case (nil, let new?):
            _ = new
            if firstLook { return .open(atEnd: true, event: nil) }
            return .open(atEnd: false, event: missingReported || waitedForFile ? .reopened : nil)
        case (let old?, let new?):
            return old == new ? .keep : .rotate
        case (.some, nil):
            if let gone = goneForNanos, gone >= rotateWaitNanos { return .missing }
            return .waitForReturn
        case (nil, nil):
            return .wait
        }
    }
}
