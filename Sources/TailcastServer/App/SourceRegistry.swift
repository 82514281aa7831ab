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

    init(_ entries: [Entry]) {
        self.entries = Mutex(entries)
    }

    /// The handles, in config order.
    public var handles: [SourceHandle] { entries.withLock { $0.map(\.handle) } }

    /// Every entry.
    public var all: [Entry] { entries.withLock { $0 } }

    func replace(with new: [Entry]) {
        entries.withLock { $0 = new }
    }
}
