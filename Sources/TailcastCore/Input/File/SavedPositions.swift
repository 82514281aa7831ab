import Foundation

/// Where a file source stood when it was last saved: its epoch and next `seq`, and the file and
/// offset after the last complete line it published.
public struct SavedPosition: Codable, Sendable, Equatable {
    public var epoch: String
    public var nextSeq: UInt64
    public var device: UInt64
    public var inode: UInt64
    public var offset: Int64

    public init(epoch: String, nextSeq: UInt64, device: UInt64, inode: UInt64, offset: Int64) {
        self.epoch = epoch
        self.nextSeq = nextSeq
        self.device = device
        self.inode = inode
        self.offset = offset
    }
}

/// The positions file in `state_dir` (`positions.json`), so that a restart continues each file
/// source's epoch and numbering from where it stopped and reads what was written meanwhile.
///
/// Promises: writes are atomic (a temporary file renamed over the old one); a missing or
/// unreadable file reads as empty (the sources then start a new epoch).
public struct SavedPositions: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func load() -> [String: SavedPosition] {
        StateFile.read([String: SavedPosition].self, directory: directory, name: "positions.json") ?? [:]
    }

    /// Saves `positions`; returns a message when it could not.
    @discardableResult
    public func save(_ positions: [String: SavedPosition]) -> String? {
        StateFile.write(positions, directory: directory, name: "positions.json")
    }
}
