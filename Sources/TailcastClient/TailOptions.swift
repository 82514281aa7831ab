/// What the user asked `tailcast tail` for, independent of how the command line spelled it.
///
/// Promises: plain data; every bound on numbers and patterns is the server's to enforce (its
/// `bad_query` names the parameter), so the client and the server can never disagree on a limit.
public struct TailOptions: Sendable, Equatable {
    /// Servers to follow, one connection each (at least one).
    public var servers: [ServerAddress] = [.local]
    /// `q` patterns: a line must match every one.
    public var patterns: [String] = []
    /// `not` patterns: a line matching any is dropped.
    public var excludes: [String] = []
    public var literal = false
    public var ignoreCase = false
    public var invert = false
    public var wordMatch = false
    public var after: Int?
    public var before: Int?
    public var context: Int?
    /// Lines to replay first (`n`); `nil` means the default (10, or none with `from`).
    public var backlog: Int?
    /// `source` names (or globs on a cluster viewer).
    public var sources: [String] = []
    /// `from=TIME`, passed through as written.
    public var from: String?
    /// Print NDJSON line objects instead of text.
    public var json = false
    /// Colours and highlighting (decided from the terminal, `--no-color` and `NO_COLOR`).
    public var color = false
    /// Sent as `Authorization: Bearer TOKEN`.
    public var token: String?
    /// How long to keep trying to connect, at start and after a lost connection, before exiting 1.
    public var retryFor: Duration = .seconds(15)

    /// `tail`'s default: the last 10 lines, unless `from` chooses the start.
    public static let defaultBacklog = 10

    public init() {}

    /// Whether context lines (`-A`, `-B`, `-C`) were asked for: groups are then separated by `--`.
    public var wantsContext: Bool { (after ?? 0) > 0 || (before ?? 0) > 0 || (context ?? 0) > 0 }
}
