#if canImport(Glibc)
import Glibc
#endif

/// Renders the journal entry a ``JournalHandle`` stands on into a ``LineBlockBuilder``: its
/// MESSAGE as the text, the standard fields (`unit`, `priority`, `identifier`, `pid`,
/// `hostname`, `cursor`) as the `fields` object, every field (up to ``keptFieldBytes``) kept for
/// `fields=` and the journal filters.
///
/// Promises: the live reader and a read-back render the same entry to the same bytes; no
/// allocation per entry once its buffers have grown (they are reused from entry to entry);
/// the cursor is written straight from libsystemd's string into the `fields` object and copied
/// out only when asked for (``lastCursor``, at batch end).
/// Not `Sendable`: owned by the thread that owns the handle.
struct JournalEntryRenderer {
    private var message: [UInt8] = []
    private var unit: [UInt8] = []
    private var identifier: [UInt8] = []
    private var pid: [UInt8] = []
    private var host: [UInt8] = []
    private var priority: UInt8?
    /// `_SOURCE_REALTIME_TIMESTAMP` of the entry (its `log_ts`), when it has a valid one.
    private var sourceTime: Timestamp?
    private var has: (unit: Bool, identifier: Bool, pid: Bool, host: Bool) = (false, false, false, false)
    private var kept: [UInt8] = []
    private var fields: [UInt8] = []
    /// `__REALTIME_TIMESTAMP` of the last rendered entry, in µs.
    private(set) var lastRealtime: UInt64 = 0
    /// Where the last entry's cursor is in `fields`.
    private var cursorRange: Range<Int> = 0..<0

    /// Bytes of further fields kept per entry for `fields=` and filters.
    static let keptFieldBytes = 8192

    init() {
        message.reserveCapacity(1024)
        kept.reserveCapacity(1024)
        fields.reserveCapacity(512)
    }

    /// The cursor of the last rendered entry (one copy; call once per batch).
    var lastCursor: [UInt8]? {
        cursorRange.isEmpty ? nil : Array(fields[cursorRange])
    }

    /// Renders the current entry of `handle` as the next line of `builder`.
    mutating func append(_ handle: JournalHandle, to builder: inout LineBlockBuilder) {
        message.removeAll(keepingCapacity: true)
        kept.removeAll(keepingCapacity: true)
        has = (false, false, false, false)
        priority = nil
        sourceTime = nil
        handle.forEachField { key, value in
            switch key.count {
            case 7 where Self.equal(key, "MESSAGE"):
                message.append(contentsOf: value)
                return
            case 13 where Self.equal(key, "_SYSTEMD_UNIT"):
                Self.set(&unit, value)
                has.unit = true
            case 17 where Self.equal(key, "SYSLOG_IDENTIFIER"):
                Self.set(&identifier, value)
                has.identifier = true
            case 4 where Self.equal(key, "_PID"):
                Self.set(&pid, value)
                has.pid = true
            case 9 where Self.equal(key, "_HOSTNAME"):
                Self.set(&host, value)
                has.host = true
            case 8 where Self.equal(key, "PRIORITY"):
                if value.count == 1, value[0] >= 0x30, value[0] <= 0x37 { priority = value[0] - 0x30 }
            case 26 where Self.equal(key, "_SOURCE_REALTIME_TIMESTAMP"):
                sourceTime = Self.microseconds(value)
            default:
                break
            }
            if kept.count + key.count + value.count < Self.keptFieldBytes {
                JournalFields.append(key: key, value: value, to: &kept)
            }
        }
        fields.removeAll(keepingCapacity: true)
        fields.append(UInt8(ascii: "{"))
        if has.unit { addString(#""unit":"#, unit) }
        if let p = priority {
            addName(#""priority":"#)
            fields.append(0x30 + p)
        }
        if has.identifier { addString(#""identifier":"#, identifier) }
        if has.pid { addNumber(#""pid":"#, pid) }
        if has.host { addString(#""hostname":"#, host) }
        cursorRange = 0..<0
        handle.withCursor { c in
            addName(#""cursor":"#)
            fields.append(UInt8(ascii: "\""))
            let start = fields.count
            JSONString.appendEscaped(c, to: &fields)
            // A cursor is ASCII without quotes or backslashes: what was written is the cursor.
            cursorRange = start..<fields.count
            fields.append(UInt8(ascii: "\""))
        }
        fields.append(UInt8(ascii: "}"))
        lastRealtime = handle.realtime()
        let ts = Timestamp(microseconds: Int64(lastRealtime))
        message.withUnsafeBytes { m in
            builder.appendJournal(
                message: m, ts: ts, priority: priority, fieldsJSON: fields, fields: kept,
                sourceTime: sourceTime)
        }
    }

    /// A decimal count of microseconds since the epoch, within what a `log_ts` may be.
    static func microseconds(_ value: UnsafeRawBufferPointer) -> Timestamp? {
        guard !value.isEmpty, value.count <= 18 else { return nil }
        var v: Int64 = 0
        for b in value {
            guard b >= 0x30, b <= 0x39 else { return nil }
            v = v * 10 + Int64(b - 0x30)
        }
        guard v > 0, v < LineTimeParser.maxMicros else { return nil }
        return Timestamp(microseconds: v)
    }

    @inline(__always)
    private static func equal(_ key: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        memcmp(key.baseAddress!, name.utf8Start, name.utf8CodeUnitCount) == 0
    }

    @inline(__always)
    private static func set(_ buffer: inout [UInt8], _ value: UnsafeRawBufferPointer) {
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: value)
    }

    private mutating func addName(_ name: StaticString) {
        if fields.count > 1 { fields.append(UInt8(ascii: ",")) }
        fields.append(contentsOf: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
    }

    private mutating func addNumber(_ name: StaticString, _ raw: [UInt8]) {
        if !raw.isEmpty, raw.count < 12, raw.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            addName(name)
            fields.append(contentsOf: raw)
        } else {
            addString(name, raw)
        }
    }

    private mutating func addString(_ name: StaticString, _ raw: [UInt8]) {
        addName(name)
        fields.append(UInt8(ascii: "\""))
        raw.withUnsafeBytes { bytes in
            if UTF8Repair.classify(bytes) == .invalid {
                var repaired: [UInt8] = []
                UTF8Repair.repair(bytes, into: &repaired)
                repaired.withUnsafeBytes { JSONString.appendEscaped($0, to: &fields) }
            } else {
                JSONString.appendEscaped(bytes, to: &fields)
            }
        }
        fields.append(UInt8(ascii: "\""))
    }
}
