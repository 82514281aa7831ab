import CSystemd

#if canImport(Glibc)
import Glibc
#endif

/// Owns one `sd_journal*`: the only type that calls libsystemd.
///
/// Promises: closes the handle exactly once (in `deinit`); every failure is a ``SourceError``
/// with the errno libsystemd returned. Not `Sendable`: libsystemd requires that a handle is used
/// from one thread for its whole life, so it is created and dropped on the journal thread.
final class JournalHandle {
    private let handle: OpaquePointer

    init(settings: JournalSourceSettings, source: String) throws(SourceError) {
        var j: OpaquePointer?
        let rc: Int32
        if let dir = settings.directory {
            rc = sd_journal_open_directory(&j, dir, 0)
        } else {
            rc = sd_journal_open(&j, Int32(SD_JOURNAL_LOCAL_ONLY))
        }
        guard rc >= 0, let j else {
            throw SourceError(source: source, path: settings.directory, errno: -rc, message: "cannot open the journal")
        }
        handle = j
        for m in settings.journalMatches {
            let r = m.withCString { sd_journal_add_match(handle, $0, 0) }
            if r < 0 {
                throw SourceError(source: source, path: settings.directory, errno: -r, message: "bad journal match \(m)")
            }
        }
    }

    deinit { sd_journal_close(handle) }

    /// The descriptor to poll, the events to poll for, and the absolute CLOCK_MONOTONIC deadline
    /// in µs (or nil) after which ``process()`` must be called anyway.
    func waitSpec() -> (fd: Int32, events: Int16, timeoutMicros: UInt64?) {
        let fd = sd_journal_get_fd(handle)
        let events = sd_journal_get_events(handle)
        var t: UInt64 = 0
        let rc = sd_journal_get_timeout(handle, &t)
        return (fd, Int16(max(0, events)), rc >= 0 && t != UInt64.max ? t : nil)
    }

    /// Acknowledges the wake-up; returns `true` when journal files were added or removed.
    @discardableResult
    func process() -> Bool {
        sd_journal_process(handle) == Int32(SD_JOURNAL_INVALIDATE)
    }

    /// Places the read position at the last `count` entries. Returns `true` when it stands on
    /// the oldest of them (read it before calling ``next()``); `false` when ``next()`` returns
    /// the first wanted entry.
    func seekTail(keeping count: Int) -> Bool {
        sd_journal_seek_tail(handle)
        if count > 0, sd_journal_previous_skip(handle, UInt64(count)) > 0 {
            return true
        }
        // At the tail, previous() lands on the last entry, which next() then steps past.
        if sd_journal_previous(handle) <= 0 {
            // No entry matches yet: without a position, libsystemd's first next() would jump to
            // whatever entry is last by then and skip those before it. Start from the head.
            sd_journal_seek_head(handle)
        }
        return false
    }

    /// Places the read position so that ``next()`` returns the first entry after `cursor`.
    /// Returns `false` when the cursor cannot be used (the caller falls back to the tail).
    func seek(after cursor: String) -> Bool {
        guard sd_journal_seek_cursor(handle, cursor) >= 0 else { return false }
        // Known trap: after seek_cursor, next() lands on the cursor's own entry (when it still
        // exists); step onto it here, so that the caller's next() returns the entry after it.
        guard sd_journal_next(handle) > 0 else { return true }
        if sd_journal_test_cursor(handle, cursor) <= 0 {
            // The entry is gone (vacuumed): we stand on the first later entry; step back.
            sd_journal_previous(handle)
        }
        return true
    }

    /// Moves to the next entry; `false` at the end.
    func next() throws(SourceError) -> Bool {
        let r = sd_journal_next(handle)
        if r < 0 { throw SourceError(source: "-", path: nil, errno: -r, message: "sd_journal_next failed") }
        return r > 0
    }

    /// Calls `body(field, value)` for every field of the current entry.
    func forEachField(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        sd_journal_restart_data(handle)
        var data: UnsafeRawPointer?
        var length = 0
        while sd_journal_enumerate_available_data(handle, &data, &length) > 0 {
            guard let data else { continue }
            guard let eqp = memchr(data, Int32(UInt8(ascii: "=")), length) else { continue }
            let eq = UnsafeRawPointer(eqp) - data
            body(
                UnsafeRawBufferPointer(start: data, count: eq),
                UnsafeRawBufferPointer(start: data + eq + 1, count: length - eq - 1))
        }
    }

    /// `__REALTIME_TIMESTAMP` of the current entry, in µs.
    func realtime() -> UInt64 {
        var t: UInt64 = 0
        sd_journal_get_realtime_usec(handle, &t)
        return t
    }

    /// Calls `body` with the cursor of the current entry (libsystemd's string, freed after).
    func withCursor(_ body: (UnsafeRawBufferPointer) -> Void) {
        var c: UnsafeMutablePointer<CChar>?
        guard sd_journal_get_cursor(handle, &c) >= 0, let c else { return }
        defer { free(c) }
        body(UnsafeRawBufferPointer(start: c, count: strlen(c)))
    }

    /// The cursor of the current entry.
    func cursor() -> String? {
        var c: UnsafeMutablePointer<CChar>?
        guard sd_journal_get_cursor(handle, &c) >= 0, let c else { return nil }
        defer { free(c) }
        return String(cString: c)
    }

    /// Moves to the previous entry; `false` at the start.
    func previous() throws(SourceError) -> Bool {
        let r = sd_journal_previous(handle)
        if r < 0 { throw SourceError(source: "-", path: nil, errno: -r, message: "sd_journal_previous failed") }
        return r > 0
    }

    /// Places the read position on the entry of `cursor`, if it is still in the journal.
    /// Returns `false` (position undefined) when it is not.
    func stand(on cursor: String) -> Bool {
        guard sd_journal_seek_cursor(handle, cursor) >= 0, sd_journal_next(handle) > 0 else { return false }
        return sd_journal_test_cursor(handle, cursor) > 0
    }

    /// Whether the current entry is the one of `cursor`.
    func isAt(_ cursor: String) -> Bool {
        sd_journal_test_cursor(handle, cursor) > 0
    }
}
