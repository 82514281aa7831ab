/// Which `Host` a request may name, so that a web page cannot reach a local tailcast through
/// a name it controls (DNS rebinding).
///
/// Promises: pure; while the server listens on loopback only, only loopback names
/// (`localhost`, `127.0.0.0/8`, `[::1]`, any port) and `allowed_hosts` pass; on other listen
/// addresses the check applies only when `allowed_hosts` is set (then loopback names pass
/// too, for local health checks). A request without `Host` (HTTP/1.0 tools) passes: a browser
/// always sends one. `"*"` in `allowed_hosts` turns the check off.
public struct HostPolicy: Sendable, Equatable {
    private let allowed: Set<String>
    private let active: Bool

    public init(listenHost: String, allowedHosts: [String]) {
        allowed = Set(allowedHosts)
        active = !allowed.contains("*") && (Self.isLoopback(listenHost) || !allowedHosts.isEmpty)
    }

    public init(_ settings: ServerSettings) {
        self.init(listenHost: settings.host, allowedHosts: settings.allowedHosts)
    }

    /// Whether a request whose `Host` header is `header` may be served.
    public func allows(hostHeader header: String?) -> Bool {
        guard active, let header else { return true }
        guard let name = Self.hostName(fromHeader: header) else { return false }
        return Self.isLoopback(name) || allowed.contains(name)
    }

    /// The host part of a `Host` header (`name[:port]`, `[v6]:port`), lower-cased, without a
    /// trailing dot; `nil` when it is malformed.
    static func hostName(fromHeader header: String) -> String? {
        let trimmed = header.trimmingSpaces
        var host: Substring
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else { return nil }
            host = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            let rest = trimmed[trimmed.index(after: close)...]
            guard rest.isEmpty || (rest.first == ":" && rest.dropFirst().allSatisfy(\.isASCIIDigit)) else { return nil }
        } else {
            let parts = trimmed.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return nil }
            if parts.count == 2, !parts[1].allSatisfy(\.isASCIIDigit) { return nil }
            host = parts[0]
        }
        return normalizedName(String(host))
    }

    /// A host name or address as compared: lower-case, no trailing dot; `nil` when it holds
    /// characters no host name has (a scheme, a path, a port, spaces). `"*"` stays `"*"`.
    public static func normalizedName(_ text: String) -> String? {
        if text == "*" { return "*" }
        var s = text.lowercased()
        if s.hasSuffix(".") { s.removeLast() }
        if s.hasPrefix("["), s.hasSuffix("]") { s = String(s.dropFirst().dropLast()) }
        guard !s.isEmpty, s.utf8.count <= 253,
            s.utf8.allSatisfy({ c in
                (0x30...0x39).contains(c) || (0x61...0x7A).contains(c) || c == 0x2D || c == 0x2E || c == 0x5F || c == 0x3A
            })
        else { return nil }
        return s
    }

    /// `true` for `localhost` (and names under `.localhost`), `127.0.0.0/8`, `::1`.
    public static func isLoopback(_ host: String) -> Bool {
        var h = host.lowercased()
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        if h.hasSuffix(".") { h.removeLast() }
        if h == "localhost" || h.hasSuffix(".localhost") { return true }
        if h == "::1" || h == "0:0:0:0:0:0:0:1" || h == "::ffff:127.0.0.1" { return true }
        let octets = h.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCIIDigit) }),
            octets.allSatisfy({ Int($0)! <= 255 })
        else { return false }
        return octets[0] == "127"
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return s
    }
}
