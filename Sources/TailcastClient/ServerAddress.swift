/// Where one tailcast server is: what the user typed (`http://host:port/base`, `https://…`,
/// `ws://…`, `wss://…`), reduced to the WebSocket endpoint `BASE/ws`.
///
/// Promises: the scheme decides TLS (`https`/`wss`); a path ending in `/ws` is taken as the
/// endpoint itself, any other path as the base path under which `/ws` lives; query parameters in
/// the URL are kept and sent before the command line's; `label` is `host:port` (the port the
/// connection uses), the prefix lines of this server get when several servers are followed.
public struct ServerAddress: Sendable, Equatable {
    /// `wss` rather than `ws`.
    public let secure: Bool
    /// Host as written (`[::1]` keeps its brackets).
    public let host: String
    public let port: Int
    /// The WebSocket path, `/ws` or `BASE/ws`.
    public let path: String
    /// Query parameters written in the URL itself, still percent-encoded, in order.
    public let extraQuery: String
    /// `host:port`.
    public var label: String { "\(host):\(port)" }

    /// The schemes a URL argument may have.
    public static let schemes = ["http://", "https://", "ws://", "wss://"]

    /// Whether a command-line argument is a URL (else it is a pattern).
    public static func isURL(_ argument: String) -> Bool {
        let lower = argument.lowercased()
        return schemes.contains { lower.hasPrefix($0) }
    }

    /// The default server: `http://127.0.0.1:8080`.
    public static let local = ServerAddress(secure: false, host: "127.0.0.1", port: 8080, path: "/ws", extraQuery: "")

    public init(secure: Bool, host: String, port: Int, path: String, extraQuery: String) {
        self.secure = secure
        self.host = host
        self.port = port
        self.path = path
        self.extraQuery = extraQuery
    }

    /// Parses a URL argument; the error says what is wrong with it.
    public static func parse(_ text: String) -> Result<ServerAddress, TailUsageError> {
        let lower = text.lowercased()
        guard let scheme = schemes.first(where: { lower.hasPrefix($0) }) else {
            return .failure(TailUsageError("\(text): a server URL starts with http://, https://, ws:// or wss://"))
        }
        let secure = scheme == "https://" || scheme == "wss://"
        var rest = Substring(text.dropFirst(scheme.count))
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var query = ""
        if let mark = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: mark)...])
            rest = rest[..<mark]
        }
        let authority: Substring
        var path: Substring
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[slash...]
        } else {
            authority = rest
            path = ""
        }
        if authority.contains("@") {
            return .failure(TailUsageError("\(text): credentials in the URL are not sent; use --token-file, TAILCAST_TOKEN or --token"))
        }
        var host = authority
        var port = secure ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                return .failure(TailUsageError("\(text): an IPv6 address is written [ADDRESS]:PORT"))
            }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                    return .failure(TailUsageError("\(text): the port must be a number from 1 to 65535"))
                }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else {
                return .failure(TailUsageError("\(text): the port must be a number from 1 to 65535"))
            }
            port = p
        }
        guard !host.isEmpty else { return .failure(TailUsageError("\(text): the URL names no host")) }
        while path.hasSuffix("/") { path = path.dropLast() }
        let wsPath = path.hasSuffix("/ws") ? String(path) : String(path) + "/ws"
        return .success(ServerAddress(secure: secure, host: String(host), port: port, path: wsPath, extraQuery: query))
    }

    /// The full `ws://` or `wss://` URL of the endpoint with `query` (already encoded) after the
    /// URL's own parameters.
    public func webSocketURL(query: String) -> String {
        let joined = [extraQuery, query].filter { !$0.isEmpty }.joined(separator: "&")
        return (secure ? "wss://" : "ws://") + label + path + (joined.isEmpty ? "" : "?" + joined)
    }
}

/// A command-line mistake found before any connection: the text says what to change.
public struct TailUsageError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
