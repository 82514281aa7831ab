/// The settings a file source is read with.
public struct FileSourceSettings: Sendable, Equatable {
    public var path: String
    public var initialLines: Int
    public var maxLineBytes: Int
    public var rotateWaitMillis: Int
    /// Where an earlier run stopped (with `state_dir`).
    public var saved: SavedPosition?

    public init(path: String, initialLines: Int, maxLineBytes: Int, rotateWaitMillis: Int, saved: SavedPosition? = nil) {
        self.saved = saved
        self.path = path
        self.initialLines = initialLines
        self.maxLineBytes = maxLineBytes
        self.rotateWaitMillis = rotateWaitMillis
    }
}
