/// A file's identity: its device and inode. A rename keeps it; a new file has another (though
/// the file system may give a deleted file's inode to a new one: see ``FileFollower``).
public struct FileIdentity: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    public var description: String { "\(device):\(inode)" }
}
