/// Builds one source's lines into blocks and publishes them to its ring: shared by every file of
/// a glob source, so that `seq` runs over the whole source.
///
/// Promises: confined to the file thread (a class only so that several followers share it);
/// publishes at most about 1 MiB at a time, so readers see data at once.
final class SourceWriter {
    let source: SourceHandle
    private var builder: LineBlockBuilder
    private var pendingBytes = 0

    init(source: SourceHandle, maxLineBytes: Int) {
        self.source = source
        builder = LineBlockBuilder(source: source.name, nextSeq: source.ring.bounds.next, maxLineBytes: maxLineBytes)
    }

    /// Sets the timestamp of the lines that follow (once per read batch).
    func stamp(_ ts: Timestamp) { builder.stamp(ts) }

    /// Adds one line; `file` is set for glob sources.
    func append(_ line: UnsafeRawBufferPointer, truncated: Bool, file: String?) {
        builder.append(line, truncated: truncated, file: file)
    }

    /// Counts bytes read for the source's metrics; publishes when enough is waiting.
    func read(bytes: Int) {
        pendingBytes += bytes
        if builder.pendingBytes >= 1 << 20 { flush() }
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
