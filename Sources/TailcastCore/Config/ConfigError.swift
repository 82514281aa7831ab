/// A problem in a config file, located by line so that a person can fix it.
public struct ConfigError: Error, Sendable, Equatable {
    /// 1-based line number, or 0 when the problem is not on one line (a missing key, say).
    public var line: Int
    /// The key at fault, when there is one.
    public var key: String?
    public var message: String

    public init(line: Int, key: String? = nil, message: String) {
        self.line = line
        self.key = key
        self.message = message
    }

    /// `FILE:LINE: message`, as compilers print it.
    public func rendered(file: String) -> String {
        line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)"
    }
}

/// Every problem found in one config file.
public struct ConfigErrors: Error, Sendable {
    public var errors: [ConfigError]
    public init(_ errors: [ConfigError]) { self.errors = errors }
}
