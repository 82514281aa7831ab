#if canImport(Glibc)
import Glibc
#endif

/// The inotify watches of the file thread and which followers each one concerns.
///
/// Promises: a watch shared by several followers (one directory, or one file followed twice)
/// is removed only when its last follower lets go of it.
struct WatchTable {
    let inotify: Inotify
    private(set) var owners: [Int32: [Int: Int]] = [:]

    static let directoryMask = UInt32(
        IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB
            | IN_DELETE_SELF | IN_MOVE_SELF)
    static let fileMask = UInt32(IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)

    init(inotify: Inotify) {
        self.inotify = inotify
    }

    mutating func watch(_ path: String, mask: UInt32, owner: Int) -> Result<Int32, SourceError> {
        let result = inotify.addWatch(path, mask: mask)
        if case .success(let wd) = result {
            owners[wd, default: [:]][owner, default: 0] += 1
        }
        return result
    }

    mutating func unwatch(_ wd: Int32, owner: Int) {
        guard var set = owners[wd], let n = set[owner] else { return }
        if n > 1 { set[owner] = n - 1 } else { set[owner] = nil }
        if set.isEmpty {
            owners[wd] = nil
            inotify.removeWatch(wd)
        } else {
            owners[wd] = set
        }
    }

    /// The kernel dropped the watch (`IN_IGNORED`): forget it without removing it.
    mutating func forget(_ wd: Int32) {
        owners[wd] = nil
    }

    func followers(of wd: Int32) -> Dictionary<Int, Int>.Keys? {
        owners[wd]?.keys
    }
}
