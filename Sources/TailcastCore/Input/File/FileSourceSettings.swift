/// The settings a file source is read with.
public struct FileSourceSettings: Sendable, Equatable {
    public var path: String
    public var initialLines: Int
    public var maxLineBytes: Int
    public var rotateWaitMillis: Int

    public init(path: String, initialLines: Int, maxLineBytes: Int, rotateWaitMillis: Int) {
        self.path = path
        self.initialLines = initialLines
        self.maxLineBytes = maxLineBytes
        self.rotateWaitMillis = rotateWaitMillis
    }
}
