#if canImport(Glibc)
import Glibc
#endif

/// A file's identity: its device and inode. A rename keeps it; a new file has another.
public struct FileIdentity: Sendable, Equatable, Hashable {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    init(_ st: stat) {
        self.init(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }
}

/// The result of `stat` or `fstat` as a follower needs it.
struct FileStat {
    var identity: FileIdentity
    var size: Int64
    var isRegular: Bool

    static func of(path: String) -> Result<FileStat, Errno> {
        var st = stat()
        guard stat(path, &st) == 0 else { return .failure(Errno(code: errno)) }
        return .success(FileStat(st))
    }

    static func of(fd: Int32) -> Result<FileStat, Errno> {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(Errno(code: errno)) }
        return .success(FileStat(st))
    }

    init(_ st: stat) {
        identity = FileIdentity(st)
        size = Int64(st.st_size)
        isRegular = (st.st_mode & S_IFMT) == S_IFREG
    }
}

/// Monotonic nanoseconds, for the follower's deadlines.
func monotonicNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// An errno value as an `Error`.
struct Errno: Error {
    var code: Int32
}
