/// What `stat` or `fstat` says of a file, as the follow rules need it: a plain value, so that
/// every rule can be tested without a disk.
public struct FileInfo: Sendable, Equatable {
    /// The kinds of file a path can name (after following symbolic links).
    public enum Kind: Sendable, Equatable {
        case regular, directory, fifo, other
    }

    public var identity: FileIdentity
    public var size: Int64
    /// Hard links: 0 once the file is deleted (it lives on while a descriptor holds it).
    public var links: Int
    public var kind: Kind

    public init(identity: FileIdentity, size: Int64, links: Int = 1, kind: Kind = .regular) {
        self.identity = identity
        self.size = size
        self.links = links
        self.kind = kind
    }

    public var isRegular: Bool { kind == .regular }
}

/// What `stat(path)` answered.
public enum PathStat: Sendable, Equatable {
    /// Something is there (a symbolic link is followed).
    case present(FileInfo)
    /// Nothing is there (`ENOENT`, `ENOTDIR`); `directoryMissing` when the directory is absent too.
    case absent(directoryMissing: Bool)
    /// `stat` failed otherwise (`EACCES`, `ELOOP`, …).
    case failed(errno: Int32)

    /// The regular file at the path, if that is what is there.
    public var regularFile: FileInfo? {
        if case .present(let info) = self, info.isRegular { return info }
        return nil
    }
}
