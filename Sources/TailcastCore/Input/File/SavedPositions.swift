import Foundation
import Logging

/// Where a file source stood when it was last saved: its epoch and next `seq`, and the file and
/// offset of the line that `seq` numbers. A glob source saves `files` instead: each file's offset
/// after its last published line, with `nextSeq` the seq of the next line of the source.
public struct SavedPosition: Codable, Sendable, Equatable {
    public var epoch: String
    public var nextSeq: UInt64
    public var device: UInt64
    public var inode: UInt64
    public var offset: Int64
    /// The offset after the last line published (the file must still be this long for the
    /// numbering to continue); absent in files of older versions: `offset` then.
    public var endOffset: Int64?
    /// The files of a glob source.
    public var files: [SavedFile]?

    public init(
        epoch: String, nextSeq: UInt64, device: UInt64, inode: UInt64, offset: Int64, endOffset: Int64? = nil,
        files: [SavedFile]? = nil
    ) {
        self.epoch = epoch
        self.nextSeq = nextSeq
        self.device = device
        self.inode = inode
        self.offset = offset
        self.endOffset = endOffset
        self.files = files
    }

    /// How long the saved file must still be.
    public var publishedTo: Int64 { max(offset, endOffset ?? offset) }

    public var identity: FileIdentity { FileIdentity(device: device, inode: inode) }

    /// Why this entry cannot be trusted, or `nil` when every field is in range.
    public var problem: String? {
        if nextSeq < 1 || nextSeq > Self.maxSeq { return "nextSeq \(nextSeq) is outside 1…\(Self.maxSeq)" }
        if offset < 0 { return "offset \(offset) is negative" }
        if let end = endOffset, end < offset { return "endOffset \(end) is before offset \(offset)" }
        if !Self.isEpoch(epoch) { return "epoch \"\(epoch.prefix(40))\" is not 1 to 16 characters of A-Z a-z 0-9 _ -" }
        for f in files ?? [] where f.offset < 0 { return "offset \(f.offset) of \(f.path) is negative" }
        return nil
    }

    /// The largest `seq` a JSON client can hold exactly (2^53 − 1): the same bound as `since`.
    public static var maxSeq: UInt64 { QueryParser.maxSeq }

    static func isEpoch(_ s: String) -> Bool { QueryParser.isEpoch(s) }
}

/// One file of a glob source, as saved.
public struct SavedFile: Codable, Sendable, Equatable {
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    public var offset: Int64

    public init(path: String, identity: FileIdentity, offset: Int64) {
        self.path = path
        self.device = identity.device
        self.inode = identity.inode
        self.offset = offset
    }

    public var identity: FileIdentity { FileIdentity(device: device, inode: inode) }
}

/// The positions file in `state_dir` (`positions.json`), so that a restart continues each file
/// source's epoch and numbering from where it stopped and reads what was written meanwhile.
///
/// Promises: writes are atomic (a temporary file renamed over the old one); loading never
/// crashes and never leaves a source in `error`: an unparsable file or an entry out of range is
/// logged (warning, with the file's path and why) and its source starts a new epoch.
public struct SavedPositions: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public var path: String { directory + "/positions.json" }

    /// The saved entries whose fields are in range (no check against the files).
    public func load() -> [String: SavedPosition] {
        load(reject: { _, _ in })
    }

    /// The saved entries that still apply: fields in range, and, for a plain file source, the
    /// saved file still there (``SavedPositionCheck``). Every rejected entry is logged.
    /// - Parameter paths: source name → configured path, of every file source.
    public func load(checking paths: [String: String], logger: Logger) -> [String: SavedPosition] {
        var loaded = load { name, why in
            logger.warning(
                "ignoring saved position; the source starts a new epoch",
                metadata: ["file": "\(path)", "source": "\(name ?? "-")", "reason": "\(why)"])
        }
        for (name, position) in loaded {
            guard let sourcePath = paths[name] else {
                loaded[name] = nil
                continue
            }
            guard position.files == nil, !GlobWatch.isPattern(sourcePath) else { continue }
            let atPath = FileSystemProbe.info(path: sourcePath)
            var found: FoundFile?
            if SavedPositionCheck.needsSearch(for: position.identity, atPath: atPath) {
                found = FileSystemProbe.find(position.identity, in: FileSystemProbe.directory(of: sourcePath))
                    .map { FoundFile(path: $0.path, info: $0.info) }
            }
            let verdict = SavedPositionCheck.check(
                identity: position.identity, offset: position.offset,
                publishedTo: position.publishedTo, atPath: atPath, found: found)
            if case .lost(let reason) = verdict {
                logger.warning(
                    "saved position no longer applies; the source starts a new epoch",
                    metadata: ["file": "\(path)", "source": "\(name)", "path": "\(sourcePath)", "reason": "\(reason)"])
                loaded[name] = nil
            }
        }
        return loaded
    }

    private func load(reject: (String?, String) -> Void) -> [String: SavedPosition] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        let (entries, problems) = Self.decode(data)
        for (name, why) in problems { reject(name, why) }
        return entries
    }

    /// The valid entries of a positions file, and why each other entry (or the whole file, name
    /// `nil`) was rejected.
    public static func decode(_ data: Data) -> (entries: [String: SavedPosition], rejected: [(String?, String)]) {
        let raw: [String: Entry]
        do {
            raw = try JSONDecoder().decode([String: Entry].self, from: data)
        } catch {
            return ([:], [(nil, "the file is not a JSON object of positions")])
        }
        var entries: [String: SavedPosition] = [:]
        var rejected: [(String?, String)] = []
        for (name, entry) in raw.sorted(by: { $0.key < $1.key }) {
            switch entry.result {
            case .success(let p):
                if let why = p.problem { rejected.append((name, why)) } else { entries[name] = p }
            case .failure(let why):
                rejected.append((name, why.message))
            }
        }
        return (entries, rejected)
    }

    /// One entry, decoded on its own so that a bad one does not spoil the others.
    private struct Entry: Decodable {
        var result: Result<SavedPosition, EntryError>
        init(from decoder: Decoder) throws {
            do {
                result = .success(try SavedPosition(from: decoder))
            } catch DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c), DecodingError.dataCorrupted(let c) {
                result = .failure(EntryError(message: "\(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"))
            } catch DecodingError.keyNotFound(let key, _) {
                result = .failure(EntryError(message: "\(key.stringValue) is missing"))
            } catch {
                result = .failure(EntryError(message: "unreadable entry"))
            }
        }
    }

    private struct EntryError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Saves `positions`; returns a message when it could not.
    @discardableResult
    public func save(_ positions: [String: SavedPosition]) -> String? {
        StateFile.write(positions, directory: directory, name: "positions.json")
    }
}
