/// Which files a glob source follows, as a pure value: told what a scan of the glob found (paths
/// with what `stat` says of them) and which files its members have closed, it answers which new
/// paths to follow and from where.
///
/// Promises:
/// - a path is followed by at most one member; a path whose file a member still has open (a
///   rotated file renamed into a matching name, `app.log.1`) is not followed twice;
/// - a file that a member closed while it still had a name (renamed away) continues where it was
///   read to when it matches again; a deleted file is forgotten, so a new file that reuses its
///   inode is read from its start;
/// - on a restart with saved positions, a file is matched to its saved position by identity (it
///   may have been renamed while tailcast was down); a saved path whose file is no longer under
///   any matching name is searched for in its directory by its member; a file that appeared
///   while tailcast was down is read from its start;
/// - O(new paths) per scan; at most ``maxRemembered`` renamed files are remembered.
public struct GlobMembers: Sendable {
    /// Followed files: path → the owner's member id.
    public private(set) var members: [String: Int] = [:]
    /// Files closed while still linked: identity → offset read to.
    private var renamed: [FileIdentity: Int64] = [:]
    /// Saved positions of an earlier run, until the first scan has used them.
    private var savedByIdentity: [FileIdentity: SavedFile] = [:]
    private var savedByPath: [String: SavedFile] = [:]
    private let restarting: Bool
    public private(set) var scannedOnce = false

    public static let maxRemembered = 4096

    /// - Parameter saved: the per-file positions saved by an earlier run (`nil`: none, the first
    ///   scan starts each file at its end after its last lines, as a plain source does).
    public init(saved: [SavedFile]?) {
        restarting = saved != nil
        for s in saved ?? [] {
            savedByIdentity[s.identity] = s
            savedByPath[s.path] = s
        }
    }

    /// The paths to start following, with where each starts, for what a scan found.
    /// - Parameters:
    ///   - found: every regular file that matches now, with its `stat`.
    ///   - open: identities the members have open now.
    public mutating func scanned(_ found: [(path: String, info: FileInfo)], open: Set<FileIdentity>) -> [(
        path: String, start: FileFollower.Start
    )] {
        var out: [(path: String, start: FileFollower.Start)] = []
        let first = !scannedOnce
        scannedOnce = true
        var claimed: Set<FileIdentity> = []
        var unclaimedSavedPaths: [String] = []
        for (path, info) in found where members[path] == nil && info.isRegular {
            if open.contains(info.identity) || claimed.contains(info.identity) { continue }
            if first, restarting, let s = savedByIdentity[info.identity] {
                claimed.insert(info.identity)
                out.append((path, .resume(info.identity, offset: s.offset, publishedTo: s.offset)))
            } else if let offset = renamed.removeValue(forKey: info.identity), info.size >= offset {
                claimed.insert(info.identity)
                out.append((path, .resume(info.identity, offset: offset, publishedTo: offset)))
            } else if first, restarting, savedByPath[path] != nil {
                unclaimedSavedPaths.append(path)
                out.append((path, .fromStart))
            } else {
                out.append((path, first && !restarting ? .atEnd : .fromStart))
            }
        }
        // A saved path that names another file now: its member looks for the saved file (rotated
        // to a name the glob does not match) unless a matching name already holds it.
        if !unclaimedSavedPaths.isEmpty {
            let wanted = Set(unclaimedSavedPaths)
            for i in out.indices where wanted.contains(out[i].path) {
                if let s = savedByPath[out[i].path], !claimed.contains(s.identity), !open.contains(s.identity) {
                    claimed.insert(s.identity)
                    out[i].start = .resume(s.identity, offset: s.offset, publishedTo: s.offset)
                }
            }
        }
        if first {
            savedByIdentity.removeAll()
            savedByPath.removeAll()
        }
        return out
    }

    /// The owner started member `id` for `path`.
    public mutating func added(_ path: String, id: Int) {
        members[path] = id
    }

    /// A member ended (its path stayed gone past `rotate_wait`).
    public mutating func ended(_ path: String) {
        members[path] = nil
    }

    /// A member closed a file.
    public mutating func closed(_ file: ClosedFile) {
        guard file.linked else {
            renamed[file.identity] = nil
            return
        }
        if renamed.count >= Self.maxRemembered { renamed.removeAll() }
        renamed[file.identity] = file.offset
    }

    /// How many closed files are remembered (for tests).
    var rememberedCount: Int { renamed.count }
}
