import Synchronization
import TailcastCore

/// The sources being served now, with the config each was built from: replaced as a whole on
/// a reload, read as a snapshot everywhere else.
///
/// Promises: readers get a consistent list; a reload never changes a source that stays the
/// same (its handle, ring and epoch are kept).
public final class SourceRegistry: Sendable {
    public struct Entry: Sendable {
        public let handle: SourceHandle
        public let config: SourceConfig
    }

    private let entries: Mutex<[Entry]>
    private let remote = Mutex<[SourceHandle]>([])

    init(_ entries: [Entry]) {
        self.entries = Mutex(entries)
    }

    /// Every source served: this node's in config order, then other hosts' (on a bus) by name.
    public var handles: [SourceHandle] { entries.withLock { $0.map(\.handle) } + remote.withLock { $0 } }

    /// This node's own sources, in config order.
    public var localHandles: [SourceHandle] { entries.withLock { $0.map(\.handle) } }

    /// Other hosts' sources read from the bus (replaced whenever they change).
    func setRemote(_ handles: [SourceHandle]) {
        remote.withLock { $0 = handles }
    }

    /// Every entry.
    public var all: [Entry] { entries.withLock { $0 } }

    func replace(with new: [Entry]) {
        entries.withLock { $0 = new }
    }
}
