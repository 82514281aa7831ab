import CLinux
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A thread of its own for a source reader that blocks in `poll`: it gets the read end of a stop
/// pipe to poll along with its own descriptors.
///
/// Promises: the body runs at most once; `stop()` wakes the body through the pipe, waits until
/// it has returned, and closes the pipe; stopping a thread that never started returns at once.
final class DedicatedThread: Sendable {
    private let name: String
    private let stopRead: Int32
    private let stopWrite: Int32
    private let phase = Mutex<(started: Bool, stopped: Bool)>((false, false))
    private let done = DispatchSemaphore(value: 0)

    init(name: String) throws(SourceError) {
        self.name = name
        var fds: [Int32] = [0, 0]
        guard tailcast_pipe2(&fds, Int32(O_CLOEXEC | O_NONBLOCK)) == 0 else {
            throw SourceError(source: name, path: nil, errno: errno, message: "pipe2 failed")
        }
        stopRead = fds[0]
        stopWrite = fds[1]
    }

    /// Runs `body(stopFD)` on a new thread; `body` returns once `stopFD` is readable.
    /// Returns `false` (and runs nothing) when the thread was already started or stopped.
    @discardableResult
    func start(_ body: @escaping @Sendable (Int32) -> Void) -> Bool {
        let first = phase.withLock { p -> Bool in
            if p.started || p.stopped { return false }
            p.started = true
            return true
        }
        guard first else { return false }
        let stopFD = stopRead
        let done = self.done
        let thread = Thread {
            body(stopFD)
            done.signal()
        }
        thread.name = name
        thread.start()
        return true
    }

    /// Stops the thread and waits for it. Idempotent.
    func stop() {
        let wasRunning = phase.withLock { p -> Bool? in
            if p.stopped { return nil }
            p.stopped = true
            return p.started
        }
        guard let wasRunning else { return }
        if wasRunning {
            var one: UInt8 = 1
            _ = write(stopWrite, &one, 1)
            done.wait()
        }
        close(stopRead)
        close(stopWrite)
    }
}
