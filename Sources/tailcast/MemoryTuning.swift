import CLinux

/// glibc malloc settings for a process whose large buffers (line blocks of up to a few MiB)
/// come and go at the rate logs are written.
enum MemoryTuning {
    /// A fixed mmap threshold: blocks of 256 KiB or more are mapped and unmapped on their own, so
    /// freed ring memory goes back to the system instead of staying in the heap (glibc's dynamic
    /// threshold would otherwise rise to 32 MiB after the first free). Fewer arenas keep the many
    /// event-loop threads from each holding a heap of their own.
    static func apply() {
        _ = tailcast_tune_malloc(256 << 10, 4)
    }
}
