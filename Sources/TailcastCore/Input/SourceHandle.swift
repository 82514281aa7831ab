import Synchronization

/// What kind of input a source reads.
public enum SourceKind: String, Sendable {
    case file
    case journald
}

/// One configured source as the rest of the process sees it: its ring, its state, its epoch.
///
/// Promises: shared by the thread that reads the source and every connection that reads its
/// ring; state changes are published under one short lock, never held across I/O.
public final class SourceHandle: Sendable {
    /// The name on the wire: the configured name on a single node, `HOST/NAME` on a bus.
    public let name: String
    /// The configured name: what saved positions, threads and logs of this node use.
    public let localName: String
    /// The agent's host name for a source on a bus (`nil` on a single node).
    public let host: String?
    public let kind: SourceKind
    /// The configured path (file sources).
    public let path: String?
    /// Changes whenever `seq` numbering starts again: 1 to 16 of `A-Z a-z 0-9 _ -`.
    public let epoch: String
    public let ring: LineRing
    public let metrics: PipelineMetrics.PerSource
    private let stateBox: Mutex<SourceState>
    private let readBackBox = Mutex<(any ReadBackService)?>(nil)
    private let successorBox = Mutex<SourceHandle?>(nil)

    public init(
        name: String, kind: SourceKind, path: String?, epoch: String, ring: LineRing,
        metrics: PipelineMetrics.PerSource, host: String? = nil
    ) {
        self.host = host
        self.localName = name
        self.name = host.map { "\($0)/\(name)" } ?? name
        self.kind = kind
        self.path = path
        self.epoch = epoch
        self.ring = ring
        self.metrics = metrics
        self.stateBox = Mutex(.waiting("not started"))
        metrics.up.record(0)
        metrics.ringMaxLines.record(ring.maxLines)
        metrics.ringMaxBytes.record(ring.maxBytes)
    }

    /// Where lines that left the ring are read back from: the journal (journal sources), the
    /// bus's stream (other hosts' sources); `nil` for files.
    public var readBack: (any ReadBackService)? { readBackBox.withLock { $0 } }

    /// Attaches the source's read-back (done by ``JournalThread`` and ``RemoteSources``).
    public func attach(_ readBack: any ReadBackService) {
        readBackBox.withLock { $0 = readBack }
    }

    /// The handle that replaced this one when the source's numbering started again (another
    /// host's source whose agent restarted without its saved state): readers move on to it.
    public var successor: SourceHandle? { successorBox.withLock { $0 } }

    /// Hands this source over to `next` (a new epoch) and wakes the readers so they move on.
    public func supersede(by next: SourceHandle) {
        successorBox.withLock { $0 = next }
        ring.wakeReaders()
    }

    /// The current state.
    public var state: SourceState { stateBox.withLock { $0 } }

    /// Sets the state; returns the previous one.
    @discardableResult
    public func setState(_ new: SourceState) -> SourceState {
        let old = stateBox.withLock { s in
            let old = s
            s = new
            return old
        }
        metrics.up.record(new == .following ? 1 : 0)
        return old
    }

    /// Appends a built block to the ring and updates the source's metrics.
    public func publish(_ block: LineBlock, bytesRead: Int) {
        ring.append(block)
        metrics.linesRead.increment(by: Int64(block.count))
        metrics.bytesRead.increment(by: Int64(bytesRead))
        let (lines, bytes) = ring.usage
        metrics.ringLines.record(lines)
        metrics.ringBytes.record(bytes)
        metrics.oldestSeq.record(Int64(ring.bounds.first))
    }
}
