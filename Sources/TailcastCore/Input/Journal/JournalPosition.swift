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

    /// The saved position of `source`, if any and valid. A file that is unreadable, not this
    /// shape, or out of range (seq 1…2^53−1, an epoch of 1–16 `A-Za-z0-9_-`, a non-empty cursor
    /// without control characters) is passed to `reject` with the reason, and ignored: the source
    /// then starts a new epoch.
    public static func load(
        directory: String, source: String,
        reject: (_ path: String, _ reason: String) -> Void = { _, _ in }
    ) -> JournalPosition? {
        let path = directory + "/" + fileName(source)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let p = try? JSONDecoder().decode(JournalPosition.self, from: data) else {
            reject(path, "the file is not a saved journal position (epoch, nextSeq, cursor)")
            return nil
        }
        if let why = p.problem {
            reject(path, why)
            return nil
        }
        return p
    }

    /// Why this position cannot be trusted, or `nil`.
    var problem: String? {
        if nextSeq < 1 || nextSeq > SavedPosition.maxSeq { return "nextSeq \(nextSeq) is outside 1…\(SavedPosition.maxSeq)" }
        if !SavedPosition.isEpoch(epoch) { return "epoch is not 1 to 16 characters of A-Z a-z 0-9 _ -" }
        if cursor.isEmpty || cursor.utf8.count > 4096 || cursor.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            return "the cursor is empty, too long or holds control characters"
        }
        return nil
    }

    /// Saves atomically; returns a message when it could not.
    func save(directory: String, source: String) -> String? {
        StateFile.write(self, directory: directory, name: Self.fileName(source))
    }
}
