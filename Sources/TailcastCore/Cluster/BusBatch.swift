/// The body of a `lines` message on the bus: a run of consecutive lines of one source as the
/// agent's ring holds them (texts, pre-rendered JSON fragments, journal fields, match texts and
/// the per-line records), so a viewer rebuilds the ``LineBlock`` without parsing or rendering.
///
/// Layout (little-endian): version `1` (u8), line count (u32), the byte lengths of the text,
/// JSON, fields and match-text areas (4 × u32), then per line `textLength, jsonLength,
/// metaLength, matchLength` (4 × u32), flags (u8: ASCII, fields, match text), priority (u8) and
/// `ts` (i64), then the four areas. A line's offsets are the sums of the lengths before it.
///
/// Promises: ``decode(_:firstSeq:skipping:)`` checks every length against the message and
/// returns `nil` for a malformed body instead of trapping.
public enum BusBatch {
    static let version: UInt8 = 1
    static let recordBytes = 26
    static let headerBytes = 21

    /// The bytes of lines `start..<end` of `block`.
    public static func encode(_ block: LineBlock, _ start: Int, _ end: Int) -> [UInt8] {
        encode([LineSlice(block: block, start: start, end: end)])
    }

    /// The bytes of consecutive lines spread over several slices (of one source, in `seq`
    /// order): one message for a backlog that spans ring blocks.
    public static func encode(_ slices: [LineSlice]) -> [UInt8] {
        struct Areas {
            var text: Range<Int>
            var json: Range<Int>
            var meta: Range<Int>
            var match: Range<Int>
        }
        var areas: [Areas] = []
        areas.reserveCapacity(slices.count)
        var count = 0
        var totals = (0, 0, 0, 0)
        for slice in slices where slice.start < slice.end {
            let recs = slice.block.records
            let first = recs[slice.start]
            let last = recs[slice.end - 1]
            var metaLo = Int.max
            var metaHi = 0
            var matchLo = Int.max
            var matchHi = 0
            for i in slice.start..<slice.end {
                let r = recs[i]
                if r.metaLength > 0 {
                    metaLo = min(metaLo, Int(r.metaStart))
                    metaHi = max(metaHi, Int(r.metaStart + r.metaLength))
                }
                if r.hasMatchText {
                    matchLo = min(matchLo, Int(r.matchStart))
                    matchHi = max(matchHi, Int(r.matchStart + r.matchLength))
                }
            }
            let a = Areas(
                text: Int(first.textStart)..<Int(last.textStart + last.textLength),
                json: Int(first.jsonStart)..<Int(last.jsonStart + last.jsonLength),
                meta: metaLo == .max ? 0..<0 : metaLo..<metaHi,
                match: matchLo == .max ? 0..<0 : matchLo..<matchHi)
            areas.append(a)
            count += slice.end - slice.start
            totals.0 += a.text.count
            totals.1 += a.json.count
            totals.2 += a.meta.count
            totals.3 += a.match.count
        }
        var out: [UInt8] = []
        out.reserveCapacity(headerBytes + count * recordBytes + totals.0 + totals.1 + totals.2 + totals.3)
        out.append(version)
        put32(&out, count)
        put32(&out, totals.0)
        put32(&out, totals.1)
        put32(&out, totals.2)
        put32(&out, totals.3)
        for slice in slices where slice.start < slice.end {
            let recs = slice.block.records
            for i in slice.start..<slice.end {
                let r = recs[i]
                put32(&out, Int(r.textLength))
                put32(&out, Int(r.jsonLength))
                put32(&out, Int(r.metaLength))
                put32(&out, r.hasMatchText ? Int(r.matchLength) : 0)
                out.append((r.isASCII ? 1 : 0) | (r.hasFields ? 2 : 0) | (r.hasMatchText ? 4 : 0))
                out.append(r.priority)
                withUnsafeBytes(of: r.ts.littleEndian) { out.append(contentsOf: $0) }
            }
        }
        let kept = zip(slices.filter { $0.start < $0.end }, areas)
        for (slice, a) in kept { out.append(contentsOf: slice.block.text[a.text]) }
        for (slice, a) in kept { out.append(contentsOf: slice.block.json[a.json]) }
        for (slice, a) in kept { out.append(contentsOf: slice.block.meta[a.meta]) }
        for (slice, a) in kept { out.append(contentsOf: slice.block.matchText[a.match]) }
        return out
    }

    /// The number of lines in `body`, or `nil` when it is not a batch.
    public static func count(_ body: [UInt8]) -> Int? {
        guard body.count >= headerBytes, body[0] == version else { return nil }
        return get32(body, 1)
    }

    /// The block the batch holds, numbered from `firstSeq`, without its first `skipping`
    /// lines (already held by the reader); `nil` when the body is malformed or nothing is left.
    public static func decode(_ body: [UInt8], firstSeq: UInt64, skipping: Int = 0) -> LineBlock? {
        guard body.count >= headerBytes, body[0] == version else { return nil }
        let count = get32(body, 1)
        let areas = (get32(body, 5), get32(body, 9), get32(body, 13), get32(body, 17))
        guard count > 0, count <= (body.count - headerBytes) / recordBytes else { return nil }
        let recordsEnd = headerBytes + count * recordBytes
        guard recordsEnd + areas.0 + areas.1 + areas.2 + areas.3 == body.count, skipping >= 0 else { return nil }
        guard skipping < count else { return nil }
        var textAt = recordsEnd
        var jsonAt = textAt + areas.0
        var metaAt = jsonAt + areas.1
        var matchAt = metaAt + areas.2
        let ends = (jsonAt, metaAt, matchAt, body.count)
        var text: [UInt8] = []
        var json: [UInt8] = []
        var meta: [UInt8] = []
        var match: [UInt8] = []
        var records: [LineRecord] = []
        records.reserveCapacity(count - skipping)
        var keptFrom: (Int, Int, Int, Int)?
        var p = headerBytes
        for i in 0..<count {
            let tl = get32(body, p)
            let jl = get32(body, p + 4)
            let ml = get32(body, p + 8)
            let xl = get32(body, p + 12)
            let flags = body[p + 16]
            let priority = body[p + 17]
            let ts = body.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: p + 18, as: Int64.self)) }
            p += recordBytes
            guard textAt + tl <= ends.0, jsonAt + jl <= ends.1, metaAt + ml <= ends.2, matchAt + xl <= ends.3, jl >= 2
            else { return nil }
            if i >= skipping {
                if keptFrom == nil { keptFrom = (textAt, jsonAt, metaAt, matchAt) }
                let base = keptFrom!
                var r = LineRecord(
                    textStart: UInt32(textAt - base.0), textLength: UInt32(tl), jsonStart: UInt32(jsonAt - base.1),
                    jsonLength: UInt32(jl), isASCII: flags & 1 != 0)
                r.hasFields = flags & 2 != 0
                r.priority = priority
                if ml > 0 {
                    r.metaStart = UInt32(metaAt - base.2)
                    r.metaLength = UInt32(ml)
                }
                if flags & 4 != 0 {
                    r.hasMatchText = true
                    r.matchStart = UInt32(matchAt - base.3)
                    r.matchLength = UInt32(xl)
                }
                r.ts = ts
                records.append(r)
            }
            textAt += tl
            jsonAt += jl
            metaAt += ml
            matchAt += xl
        }
        guard textAt == ends.0, jsonAt == ends.1, metaAt == ends.2, matchAt == ends.3, let base = keptFrom else { return nil }
        text = Array(body[base.0..<ends.0])
        json = Array(body[base.1..<ends.1])
        meta = Array(body[base.2..<ends.2])
        match = Array(body[base.3..<ends.3])
        return LineBlock(
            firstSeq: firstSeq + UInt64(skipping), text: text, json: json, records: records, meta: meta, matchText: match)
    }

    private static func put32(_ out: inout [UInt8], _ v: Int) {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { out.append(contentsOf: $0) }
    }

    private static func get32(_ b: [UInt8], _ at: Int) -> Int {
        Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24
    }
}
