/// Whether a position saved by an earlier run still describes the file it was saved for, from
/// what `stat` says of the path now and, when the path names another file, of the file found by
/// the saved identity in the same directory (logrotate leaves `app.log.1` there).
///
/// Promises: pure; the same answer for the same facts, so the start-up check that decides a
/// source's epoch and the follower that then reads the file agree.
///
/// What cannot be known from identity and size: a file truncated and written again past the
/// saved offset while tailcast was down looks like a file that grew (the lines after the offset
/// are read, the ones replaced before it are not); a rotated file moved to another directory is
/// not found (the position is then lost and a new epoch starts).
public enum SavedPositionCheck: Sendable, Equatable {
    /// The path names the saved file and it is at least as long: continue at the offset.
    case samePath
    /// The saved file now has another name in the directory: finish it from the offset, then
    /// read the file at the path (if any) from its start.
    case rotated(to: String)
    /// The lines after the offset cannot be read again (the file shrank, or it is gone).
    case lost(reason: String)

    /// `true` when the path does not name the saved file, so the directory must be searched.
    public static func needsSearch(for identity: FileIdentity, atPath: PathStat) -> Bool {
        atPath.regularFile?.identity != identity
    }

    /// - Parameters:
    ///   - offset: where reading continues.
    ///   - publishedTo: the end of what was published from the file (≥ `offset`): a file now
    ///     shorter than that lost lines that already had numbers.
    public static func check(
        identity: FileIdentity, offset: Int64, publishedTo: Int64, atPath: PathStat,
        found: FoundFile?
    ) -> SavedPositionCheck {
        let needed = max(offset, publishedTo)
        if let info = atPath.regularFile, info.identity == identity {
            return info.size >= needed
                ? .samePath
                : .lost(reason: "the file was truncated or replaced while tailcast was stopped (\(info.size) bytes, \(needed) were read)")
        }
        guard let found, found.info.identity == identity, found.info.isRegular else {
            let what = atPath.regularFile == nil ? "the file is gone" : "the path names another file"
            return .lost(reason: "\(what) and the saved file (\(identity)) is not in its directory any more")
        }
        guard found.info.size >= needed else {
            return .lost(reason: "the rotated file \(found.path) is shorter (\(found.info.size) bytes) than what was read (\(needed))")
        }
        return .rotated(to: found.path)
    }
}
