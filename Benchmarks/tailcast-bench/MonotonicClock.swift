import Glibc

/// `CLOCK_MONOTONIC` in nanoseconds: one clock for every process on the machine, so a line
/// stamped by the writer process can be compared with its arrival in the client process.
enum MonotonicClock {
    static func nanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
