#if canImport(Glibc)
import Glibc
#endif

/// The `stat` family turned into the plain values the follow rules take: the only place on the
/// file side besides ``FollowedPath`` and ``GlobWatch`` that asks the kernel about files.
///
/// Promises: never blocks beyond a file-system call; never throws (a failure is a value).
enum FileSystemProbe {
    /// `stat(path)` (following symbolic links).
    static func info(path: String) -> PathStat {
        var st = stat()
        if stat(path, &st) == 0 { return .present(FileInfo(st)) }
        let e = errno
        guard e == ENOENT || e == ENOTDIR else { return .failed(errno: e) }
        var parent = stat()
        return .absent(directoryMissing: stat(directory(of: path), &parent) != 0)
    }

    /// `fstat(fd)`, or `nil` when it fails.
    static func info(fd: Int32) -> FileInfo? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return FileInfo(st)
    }

    /// The first regular file in `directory` whose identity is `identity` (a rotated file, as
    /// logrotate leaves it next to the log), with what `stat` says of it.
    static func find(_ identity: FileIdentity, in directory: String) -> (path: String, info: FileInfo)? {
        guard let d = opendir(directory) else { return nil }
        defer { closedir(d) }
        while let e = readdir(d) {
            guard UInt64(e.pointee.d_ino) == identity.inode else { continue }
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            let path = directory == "/" ? "/" + name : directory + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            let info = FileInfo(st)
            if info.identity == identity, info.isRegular { return (path, info) }
        }
        return nil
    }

    /// The directory part of `path` (`.` when it has none).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }
}

extension FileInfo {
    init(_ st: stat) {
        let kind: Kind
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFIFO: kind = .fifo
        default: kind = .other
        }
        self.init(
            identity: FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)),
            size: Int64(st.st_size), links: Int(st.st_nlink), kind: kind)
    }
}

/// Monotonic nanoseconds: the clock the file thread hands to the follow rules as a value.
func monotonicNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
