import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One glob source (`/var/log/nginx/*.log`, `/srv/**/app.log`): finds the files that match,
/// watches every directory that could hold one, and tells the file thread which files to
/// start following.
///
/// Promises: confined to the file thread; `*`, `?` and `[…]` match within one path component
/// (not a leading `.`), `**` matches any number of directories (up to 16 levels); walks only
/// when told to (an inotify event in one of its directories, an overflow, a slow safety net),
/// never on a timer per second; which paths to follow is decided by ``GlobMembers``.
struct GlobWatch {
    let id: Int
    let writer: SourceWriter
    let settings: FileSourceSettings
    private let base: String
    private let components: [String]
    /// Which files the glob follows (pure; see ``GlobMembers``).
    var membership: GlobMembers
    private var directoryWatches: [String: Int32] = [:]

    static let maxDepth = 16

    init(id: Int, writer: SourceWriter, settings: FileSourceSettings) {
        self.id = id
        self.writer = writer
        self.settings = settings
        self.membership = GlobMembers(saved: settings.saved?.files)
        let parts = settings.path.split(separator: "/").map(String.init)
        let firstGlob = parts.firstIndex(where: Self.isPattern) ?? parts.count
        base = "/" + parts[..<firstGlob].joined(separator: "/")
        components = Array(parts[firstGlob...])
    }

    /// `true` when `path` holds `*`, `?` or `[`.
    public static func isPattern(_ path: String) -> Bool {
        path.contains("*") || path.contains("?") || path.contains("[")
    }

    /// Every file that matches now and is not followed yet, with what `stat` says of it; watches
    /// each directory looked at (so that new files and directories are seen without a re-walk)
    /// and lets go of directories that are gone.
    mutating func scan(watches: inout WatchTable) -> [(path: String, info: FileInfo)] {
        var found: [String] = []
        var seenDirectories: Set<String> = []
        // A directory is watched after it was listed: when new ones were watched, list again so
        // that a file created in between is not left for the safety net.
        for _ in 0..<4 {
            found.removeAll(keepingCapacity: true)
            seenDirectories.removeAll(keepingCapacity: true)
            walk(base, components[...], depth: 0, found: &found, seen: &seenDirectories)
            var added = false
            for dir in seenDirectories where directoryWatches[dir] == nil {
                if case .success(let wd) = watches.watch(dir, mask: WatchTable.directoryMask, owner: id) {
                    directoryWatches[dir] = wd
                    added = true
                }
            }
            if !added { break }
        }
        for (dir, wd) in directoryWatches where !seenDirectories.contains(dir) || watches.followers(of: wd) == nil {
            watches.unwatch(wd, owner: id)
            directoryWatches[dir] = nil
        }
        var out: [(path: String, info: FileInfo)] = []
        for path in found.sorted() where membership.members[path] == nil {
            if case .present(let info) = FileSystemProbe.info(path: path), info.isRegular { out.append((path, info)) }
        }
        return out
    }

    func stop(watches: inout WatchTable) {
        for wd in directoryWatches.values { watches.unwatch(wd, owner: id) }
    }

    private func walk(_ dir: String, _ rest: ArraySlice<String>, depth: Int, found: inout [String], seen: inout Set<String>) {
        guard depth <= Self.maxDepth, let first = rest.first else { return }
        seen.insert(dir)
        let tail = rest.dropFirst()
        let entries = Self.list(dir)
        if first == "**" {
            walk(dir, tail, depth: depth + 1, found: &found, seen: &seen)
            for (name, isDir) in entries where isDir && !name.hasPrefix(".") {
                walk(join(dir, name), rest, depth: depth + 1, found: &found, seen: &seen)
            }
            return
        }
        for (name, isDir) in entries where fnmatch(first, name, FNM_PERIOD) == 0 {
            let path = join(dir, name)
            if tail.isEmpty {
                if !isDir { found.append(path) }
            } else if isDir {
                walk(path, tail, depth: depth + 1, found: &found, seen: &seen)
            }
        }
    }

    private func join(_ dir: String, _ name: String) -> String {
        dir == "/" ? "/" + name : dir + "/" + name
    }

    /// Names in `dir` and whether each is a directory (following links); `stat` only where
    /// `readdir` does not say (links, file systems without `d_type`).
    private static func list(_ dir: String) -> [(String, Bool)] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [(String, Bool)] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            switch Int32(e.pointee.d_type) {
            case Int32(DT_DIR): out.append((name, true))
            case Int32(DT_REG), Int32(DT_FIFO), Int32(DT_SOCK), Int32(DT_CHR), Int32(DT_BLK): out.append((name, false))
            default:
                var st = stat()
                let full = dir == "/" ? "/" + name : dir + "/" + name
                guard stat(full, &st) == 0 else { continue }
                out.append((name, (st.st_mode & S_IFMT) == S_IFDIR))
            }
        }
        return out
    }
}
