#if canImport(Glibc)
import Glibc
#endif
import Logging

/// One glob source (`/var/log/nginx/*.log`, `/srv/**/app.log`): finds the files that match,
/// watches every directory that could hold one, and tells the file thread which files to
/// start following.
///
/// Promises: confined to the file thread; `*`, `?` and `[…]` match within one path component
/// (not a leading `.`), `**` matches any number of directories (up to 16 levels); a new path
/// that names a file already followed (a rotated file renamed into a matching name) is skipped,
/// so no line is read twice.
struct GlobWatch {
    let id: Int
    let writer: SourceWriter
    let settings: FileSourceSettings
    private let base: String
    private let components: [String]
    /// Followed files: path → follower id.
    var members: [String: Int] = [:]
    private var directoryWatches: [String: Int32] = [:]
    /// Files its members closed, with the offset read to: a new path naming one resumes there.
    var known: [FileIdentity: Int64] = [:]
    private(set) var scanned = false

    static let maxDepth = 16

    init(id: Int, writer: SourceWriter, settings: FileSourceSettings) {
        self.id = id
        self.writer = writer
        self.settings = settings
        let parts = settings.path.split(separator: "/").map(String.init)
        let firstGlob = parts.firstIndex(where: Self.isPattern) ?? parts.count
        base = "/" + parts[..<firstGlob].joined(separator: "/")
        components = Array(parts[firstGlob...])
    }

    /// `true` when `path` holds `*`, `?` or `[`.
    public static func isPattern(_ path: String) -> Bool {
        path.contains("*") || path.contains("?") || path.contains("[")
    }

    /// Every regular file that matches now; watches each directory looked at.
    mutating func scan(watches: inout WatchTable) -> [String] {
        var found: [String] = []
        var seenDirectories: Set<String> = []
        walk(base, components[...], depth: 0, found: &found, seen: &seenDirectories)
        for dir in seenDirectories where directoryWatches[dir] == nil {
            if case .success(let wd) = watches.watch(dir, mask: WatchTable.directoryMask, owner: id) {
                directoryWatches[dir] = wd
            }
        }
        for (dir, wd) in directoryWatches where !seenDirectories.contains(dir) || watches.followers(of: wd) == nil {
            watches.unwatch(wd, owner: id)
            directoryWatches[dir] = nil
        }
        scanned = true
        return found.sorted()
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

    /// Names in `dir` and whether each is a directory (following links).
    private static func list(_ dir: String) -> [(String, Bool)] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [(String, Bool)] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            var st = stat()
            let full = dir == "/" ? "/" + name : dir + "/" + name
            guard stat(full, &st) == 0 else { continue }
            out.append((name, (st.st_mode & S_IFMT) == S_IFDIR))
        }
        return out
    }
}
