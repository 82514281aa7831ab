import Foundation

/// Where a journal source stood when it was last saved: its epoch, next `seq` and the cursor of
/// the last entry it published. Kept in `state_dir/journal-NAME.json` (one file per source, as
/// each journal thread writes its own).
public struct JournalPosition: Codable, Sendable, Equatable {
    public var epoch: String
    public var nextSeq: UInt64
    public var cursor: String

    public init(epoch: String, nextSeq: UInt64, cursor: String) {
        self.epoch = epoch
        self.nextSeq = nextSeq
        self.cursor = cursor
    }

    private static func fileName(_ source: String) -> String { "journal-" + source + ".json" }

    /// The saved position of `source`, if any.
    public static func load(directory: String, source: String) -> JournalPosition? {
        StateFile.read(JournalPosition.self, directory: directory, name: fileName(source))
    }

    /// Saves atomically; returns a message when it could not.
    func save(directory: String, source: String) -> String? {
        StateFile.write(self, directory: directory, name: Self.fileName(source))
    }
}
