#if canImport(Glibc)
import Glibc
#endif

/// The one monotonic clock of the process (CLOCK_MONOTONIC), in nanoseconds.
///
/// Promises: never goes backwards, unaffected by wall-clock changes; a vDSO call, no syscall,
/// cheap enough to read once per few lines.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point (boot).
    @inline(__always)
    public static func nanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
