import NIOCore

/// Builds server-to-client envelopes as WebSocket text-frame payloads, each in its own
/// `ByteBuffer` with headroom before the reader index for the frame header.
///
/// Promises: `lines` envelopes are assembled by copying pre-rendered line fragments, never by
/// escaping per connection; every payload is one record of ``format`` (for the WebSocket: one
/// valid JSON object).
public struct EnvelopeWriter: Sendable {
    /// Bytes left free before each payload: the largest unmasked WebSocket frame header.
    public static let headroom = 14
    public let allocator: ByteBufferAllocator
    /// The server name in `hello`.
    public static let serverName = "tailcast/0.1.0"

    /// How the payloads are laid out; ``FrameFormat/webSocket`` unless asked otherwise.
    public let format: FrameFormat

    public init(allocator: ByteBufferAllocator = ByteBufferAllocator(), format: FrameFormat = .webSocket) {
        self.allocator = allocator
        self.format = format
    }

    /// The same writer, producing `format`.
    public func formatted(_ format: FrameFormat) -> EnvelopeWriter {
        EnvelopeWriter(allocator: allocator, format: format)
    }

    /// A buffer with headroom, ready to be written.
    public func buffer(capacity: Int) -> ByteBuffer {
        var b = allocator.buffer(capacity: capacity + Self.headroom)
        b.moveWriterIndex(forwardBy: Self.headroom)
        b.moveReaderIndex(forwardBy: Self.headroom)
        return b
    }

    /// An envelope from a JSON text.
    public func text(_ json: String) -> ByteBuffer {
        var b = buffer(capacity: json.utf8.count)
        b.writeString(json)
        return b
    }

    public func hello(sources: [SourceHandle], query: Query, heartbeatMillis: Int) -> ByteBuffer {
        let names = sources.map { JSONString.quoted($0.name) }.joined(separator: ",")
        let epochs = sources.map { JSONString.quoted($0.name) + ":" + JSONString.quoted($0.epoch) }.joined(separator: ",")
        // Beyond the contract: each source's last seq now, so that a client whose filter has
        // matched nothing yet can still resume with `since` from here.
        let seqs = sources.map { JSONString.quoted($0.name) + ":" + String($0.ring.bounds.next - 1) }.joined(separator: ",")
        return text(
            "{\"type\":\"hello\",\"protocol\":2,\"server\":\"\(Self.serverName)\",\"sources\":[\(names)],"
                + "\"epochs\":{\(epochs)},\"seqs\":{\(seqs)},\"query\":\(query.json),\"heartbeat_ms\":\(heartbeatMillis)}")
    }

    /// `json` (an envelope of `type`) as a record of ``format``.
    func envelope(_ type: String, _ json: String) -> ByteBuffer {
        format == .webSocket ? text(json) : text(format.record(type: type, json: json))
    }

    /// In the text format, `# LINE`.
    private func comment(_ line: String) -> ByteBuffer {
        text("# " + line.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: " ") + "\n")
    }

    private var isText: Bool { format.isText }

    public func dropped(source: String, range: ClosedRange<UInt64>, reason: DropReason) -> ByteBuffer {
        if isText {
            return comment("dropped \(source): \(range.count) lines, seq \(range.lowerBound)-\(range.upperBound) (\(reason.rawValue))")
        }
        return envelope(
            "dropped",
            "{\"type\":\"dropped\",\"source\":\(JSONString.quoted(source)),\"count\":\(range.count),"
                + "\"from_seq\":\(range.lowerBound),\"to_seq\":\(range.upperBound),\"reason\":\"\(reason.rawValue)\"}")
    }

    public func restarted(source: String, oldEpoch: String, fromSeq: UInt64) -> ByteBuffer {
        if isText {
            return comment("dropped \(source): from seq \(fromSeq) of ended epoch \(oldEpoch), count unknown (restarted)")
        }
        return envelope(
            "dropped",
            "{\"type\":\"dropped\",\"source\":\(JSONString.quoted(source)),\"reason\":\"restarted\","
                + "\"epoch\":\(JSONString.quoted(oldEpoch)),\"from_seq\":\(fromSeq),\"to_seq\":null,\"count\":null}")
    }

    /// `from=TIME` reached past the oldest held line and lines at or after TIME are known to
    /// have left the buffer: which ones exactly is not known, only the last (`toSeq`).
    public func evicted(source: String, toSeq: UInt64) -> ByteBuffer {
        if isText {
            return comment("dropped \(source): lines up to seq \(toSeq) at or after from, count unknown (evicted)")
        }
        return envelope(
            "dropped",
            "{\"type\":\"dropped\",\"source\":\(JSONString.quoted(source)),\"reason\":\"evicted\","
                + "\"from_seq\":null,\"to_seq\":\(toSeq),\"count\":null}")
    }

    public func event(source: String, _ event: SourceEvent) -> ByteBuffer {
        if isText {
            return comment("event \(source): \(event.kind.rawValue)" + (event.detail.isEmpty ? "" : " \(event.detail)"))
        }
        return envelope(
            "event",
            "{\"type\":\"event\",\"source\":\(JSONString.quoted(source)),\"event\":\"\(event.kind.rawValue)\","
                + "\"detail\":\(JSONString.quoted(event.detail))}")
    }

    public func heartbeat(_ ts: Timestamp = .now()) -> ByteBuffer {
        if let record = format.heartbeatRecord { return text(record) }
        return text("{\"type\":\"heartbeat\",\"ts\":\"\(ts.rfc3339)\"}")
    }

    public func error(_ e: QueryError) -> ByteBuffer {
        var s = "{\"type\":\"error\",\"code\":\(JSONString.quoted(e.code))"
        if let p = e.param { s += ",\"param\":\(JSONString.quoted(p))" }
        s += ",\"message\":\(JSONString.quoted(e.message))}"
        if isText { return comment("error \(e.code)" + (e.param.map { " (\($0))" } ?? "") + ": \(e.message)") }
        return envelope("error", s)
    }

    /// Sets the SSE `id` of `event` (a whole SSE event, ending in its blank line) to `position`.
    public func setEventID(_ position: String, in event: inout ByteBuffer) {
        guard format == .sse, event.readableBytes >= 2 else { return }
        event.moveWriterIndex(to: event.writerIndex - 1)
        event.writeString("id: \(position)\n\n")
    }

    /// An `error` envelope with a code and message only.
    public func error(code: String, message: String) -> ByteBuffer {
        error(QueryError(code: code, param: nil, message: message))
    }
}

/// One `lines` envelope being assembled.
///
/// Promises: copies runs of plain lines with one copy per run; adds `matches` or `context` to
/// a line by copying its fragment without the closing `},` and appending the extras.
public struct LinesFrame {
    private(set) var buffer: ByteBuffer
    /// Lines in the frame.
    public private(set) var count = 0
    private let format: FrameFormat
    /// `SOURCE:` in the text format with several sources, else empty.
    private var textPrefix: [UInt8] = []
    private var textSource = ""
    private static let contextField: [UInt8] = Array(#","context":true"#.utf8)
    private static let lineEnd: [UInt8] = Array("},".utf8)
    private static let ndjsonLineEnd: [UInt8] = Array("}\n".utf8)
    private static let matchesHead: [UInt8] = Array(#","matches":["#.utf8)

    /// - Parameter capacity: the most the frame will carry; the buffer starts small and grows
    ///   (by doubling) only as lines are added, so a frame holds about what it carries: a
    ///   trickle of one-line frames queued for a slow peer pins kilobytes, not `capacity` each.
    public init(writer: EnvelopeWriter, capacity: Int) {
        format = writer.format
        buffer = writer.buffer(capacity: min(capacity + 256, Self.initialCapacity))
        buffer.writeBytes(format.linesOpen)
    }

    /// Names the source of the lines appended next (the text format prefixes them with it when
    /// several sources are selected); O(1) when it is the same source as before.
    public mutating func setSource(_ name: String) {
        guard case .text(true) = format, name != textSource else { return }
        textSource = name
        textPrefix = Array(name.utf8) + [UInt8(ascii: ":")]
    }

    /// The first allocation, with the WebSocket header room: 1 KiB.
    static let initialCapacity = 1024 - EnvelopeWriter.headroom

    /// Bytes in the payload so far.
    public var size: Int { buffer.readableBytes }

    /// Appends lines `start..<end` of `block` as they are.
    @inline(__always)
    public mutating func appendPlain(_ block: LineBlock, _ start: Int, _ end: Int) {
        guard start < end else { return }
        if case .text = format {
            appendText(block, start, end)
            return
        }
        let from = Int(block.records[start].jsonStart)
        let last = block.records[end - 1]
        let to = Int(last.jsonStart + last.jsonLength)
        let base = buffer.writerIndex
        _ = block.json.withUnsafeBytes { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[from..<to])) }
        if format == .ndjson {
            // Each fragment ends in `},`: one byte per line turns the run into NDJSON lines.
            for r in block.records[start..<end] {
                buffer.setInteger(UInt8(ascii: "\n"), at: base + Int(r.jsonStart + r.jsonLength) - 1 - from)
            }
        }
        count += end - start
    }

    /// Lines `start..<end` of `block` as text lines, each with the source prefix if any.
    private mutating func appendText(_ block: LineBlock, _ start: Int, _ end: Int) {
        let prefix = textPrefix
        block.text.withUnsafeBytes { all in
            for r in block.records[start..<end] {
                if !prefix.isEmpty { buffer.writeBytes(prefix) }
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: all[Int(r.textStart)..<Int(r.textStart + r.textLength)]))
                buffer.writeInteger(UInt8(ascii: "\n"))
            }
        }
        count += end - start
    }

    /// Appends line `index` of `block` with what this connection adds to it: `matches`
    /// (UTF-16 offsets), `"context":true`, and further journal fields named by `fields=`.
    public mutating func append(
        _ block: LineBlock, _ index: Int, spans: [(Int, Int)] = [], context: Bool = false,
        extraFields: [String] = []
    ) {
        let r = block.records[index]
        let addFields = !extraFields.isEmpty && r.hasFields
        if format.isText || (spans.isEmpty && !context && !addFields) {
            appendPlain(block, index, index + 1)
            return
        }
        let from = Int(r.jsonStart)
        let to = Int(r.jsonStart + r.jsonLength) - (addFields ? 3 : 2)
        _ = block.json.withUnsafeBytes { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[from..<to])) }
        if addFields {
            // One pass over the line's fields picks the wanted ones.
            var extra: [UInt8] = []
            var repaired: [UInt8] = []
            var found = 0
            var emitted: UInt64 = 0  // a field that appears twice is sent once, its first value
            JournalFields.forEach(block, index) { key, value in
                guard let k = extraFields.firstIndex(where: { $0.utf8.elementsEqual(key) }) else { return true }
                let bit: UInt64 = k < 64 ? 1 << UInt64(k) : 0
                if emitted & bit != 0 { return true }
                emitted |= bit
                extra.append(UInt8(ascii: ","))
                extra.append(UInt8(ascii: "\""))
                JSONString.appendEscaped(key, to: &extra)
                extra.append(UInt8(ascii: "\""))
                extra.append(UInt8(ascii: ":"))
                repaired.removeAll(keepingCapacity: true)
                UTF8Repair.repair(value, into: &repaired)
                extra.append(UInt8(ascii: "\""))
                repaired.withUnsafeBytes { JSONString.appendEscaped($0, to: &extra) }
                extra.append(UInt8(ascii: "\""))
                found += 1
                return found < extraFields.count
            }
            extra.append(UInt8(ascii: "}"))
            buffer.writeBytes(extra)
        }
        if context { buffer.writeBytes(Self.contextField) }
        if !spans.isEmpty {
            buffer.writeBytes(Self.matchesHead)
            for (k, span) in spans.enumerated() {
                if k > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                buffer.writeInteger(UInt8(ascii: "["))
                Self.writeDecimal(span.0, to: &buffer)
                buffer.writeInteger(UInt8(ascii: ","))
                Self.writeDecimal(span.1, to: &buffer)
                buffer.writeInteger(UInt8(ascii: "]"))
            }
            buffer.writeInteger(UInt8(ascii: "]"))
        }
        buffer.writeBytes(format == .ndjson ? Self.ndjsonLineEnd : Self.lineEnd)
        count += 1
    }

    /// Writes the decimal digits of `value` (≥ 0) without making a `String`.
    @inline(__always)
    static func writeDecimal(_ value: Int, to buffer: inout ByteBuffer) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for any Int
        var v = UInt64(max(0, value))
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[23 - n] = UInt8(0x30 + v % 10)
                v /= 10
                n += 1
            } while v > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: d[(24 - n)...]))
        }
    }

    /// Closes the envelope and hands out the payload.
    public mutating func finish() -> ByteBuffer {
        guard let close = format.linesClose else { return buffer }
        if count > 0 { buffer.moveWriterIndex(to: buffer.writerIndex - 1) }  // the last ","
        buffer.writeBytes(close)
        return buffer
    }
}
