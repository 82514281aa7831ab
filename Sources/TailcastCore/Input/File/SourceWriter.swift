/// Builds one source's lines into blocks and publishes them to its ring: shared by every file of
/// a glob source, so that `seq` runs over the whole source.
///
/// Promises: confined to the file thread (a class only so that several followers share it);
/// publishes at most about ``LineRing/blockBytesTarget`` (≤ 1 MiB) at a time, so readers see
/// data at once and the ring's byte bound evicts in small steps.
final class SourceWriter {
    let source: SourceHandle
    private var builder: LineBlockBuilder
    private var pendingBytes = 0
    /// Blocks stay well below the ring's byte bound (which evicts whole blocks).
    private let blockBytes: Int

    init(source: SourceHandle, maxLineBytes: Int) {
        self.source = source
        self.blockBytes = source.ring.blockBytesTarget
        builder = LineBlockBuilder(source: source.name, nextSeq: source.ring.bounds.next, maxLineBytes: maxLineBytes)
    }

    /// Sets the timestamp of the lines that follow (once per read batch).
    func stamp(_ ts: Timestamp) { builder.stamp(ts) }

    /// Adds one line; `file` is set for glob sources. Publishes when a block's worth is waiting.
    func append(_ line: UnsafeRawBufferPointer, truncated: Bool, file: String?) {
        builder.append(line, truncated: truncated, file: file)
        if builder.pendingBytes >= blockBytes { flush() }
    }

    /// Counts bytes read for the source's metrics.
    func read(bytes: Int) {
        pendingBytes += bytes
    }

    /// Publishes what is waiting.
    func flush() {
        if let block = builder.finish() {
            source.publish(block, bytesRead: pendingBytes)
            pendingBytes = 0
        }
    }

    /// Records an event after the lines read before it.
    func record(_ event: SourceEvent) {
        flush()
        source.ring.record(event)
    }
}
