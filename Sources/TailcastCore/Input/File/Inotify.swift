#if canImport(Glibc)
import Glibc
#endif

/// One inotify instance: the only place that calls the inotify functions.
///
/// Promises: non-blocking reads; events are parsed from the kernel's records by hand and handed
/// out one by one; the descriptor is closed exactly once, by ``close()``.
struct Inotify {
    /// One parsed event.
    struct Event {
        var wd: Int32
        var mask: UInt32
        var name: String?
    }

    let fd: Int32

    init() throws(SourceError) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else {
            throw SourceError(source: "-", path: nil, errno: errno, message: "inotify_init1 failed")
        }
        self.fd = fd
    }

    /// Adds (or updates) a watch; returns the watch descriptor or the errno.
    func addWatch(_ path: String, mask: UInt32) -> Result<Int32, SourceError> {
        let wd = inotify_add_watch(fd, path, mask)
        if wd >= 0 { return .success(wd) }
        let e = errno
        let hint =
            e == ENOSPC
            ? "the inotify watch limit is reached: raise fs.inotify.max_user_watches (sysctl)"
            : "inotify_add_watch failed"
        return .failure(SourceError(source: "-", path: path, errno: e, message: hint))
    }

    func removeWatch(_ wd: Int32) {
        _ = inotify_rm_watch(fd, wd)
    }

    /// Reads every queued event (until the queue is empty) into `buffer`, calling `body` per event.
    func drain(buffer: UnsafeMutableRawBufferPointer, _ body: (Event) -> Void) {
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            var off = 0
            let headerSize = MemoryLayout<inotify_event>.size
            while off + headerSize <= n {
                let base = buffer.baseAddress! + off
                let wd = base.loadUnaligned(fromByteOffset: 0, as: Int32.self)
                let mask = base.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
                let len = Int(base.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
                var name: String?
                if len > 0 {
                    let bytes = UnsafeRawBufferPointer(start: base + headerSize, count: len)
                    let end = bytes.firstIndex(of: 0) ?? len
                    name = String(decoding: bytes[0..<end], as: UTF8.self)
                }
                body(Event(wd: wd, mask: mask, name: name))
                off += headerSize + len
            }
        }
    }

    func close() {
        _ = Glibc.close(fd)
    }
}
