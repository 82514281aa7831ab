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

    static func path(directory: String, source: String) -> String {
        directory + "/journal-" + source + ".json"
    }

    /// The saved position of `source`, if any.
    public static func load(directory: String, source: String) -> JournalPosition? {
        guard let data = FileManager.default.contents(atPath: path(directory: directory, source: source)) else { return nil }
        return try? JSONDecoder().decode(JournalPosition.self, from: data)
    }

    /// Saves atomically; returns a message when it could not.
    func save(directory: String, source: String) -> String? {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let target = Self.path(directory: directory, source: source)
            let tmp = target + ".tmp"
            guard FileManager.default.createFile(atPath: tmp, contents: try JSONEncoder().encode(self)) else {
                return "cannot write \(tmp)"
            }
            guard rename(tmp, target) == 0 else { return "cannot rename \(tmp)" }
            return nil
        } catch {
            return "\(error)"
        }
    }
}
