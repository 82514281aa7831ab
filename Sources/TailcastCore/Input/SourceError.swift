#if canImport(Glibc)
import Glibc
#endif

/// A failure of a source's input, with what a user needs to fix it.
public struct SourceError: Error, Sendable, Equatable {
    public var source: String
    public var path: String?
    /// The errno of the failing call, or 0.
    public var errno: Int32
    /// What failed, and how to remedy it where that is known.
    public var message: String

    public init(source: String, path: String?, errno: Int32, message: String) {
        self.source = source
        self.path = path
        self.errno = errno
        self.message = message
    }

    /// `path: message: strerror`, for logs, events and `/readyz`.
    public var description: String {
        var s = ""
        if let path { s += "\(path): " }
        s += message
        if errno != 0 { s += ": " + String(cString: strerror(errno)) }
        return s
    }
}
