#if canImport(Glibc)
import Glibc
#endif

/// Checks, before anything starts, that the listen address can be bound, so that a port in use
/// is one clear line on stderr instead of a half-started server.
enum ListenProbe {
    /// `nil` when `host:port` can be bound now, else the reason.
    static func problem(host: String, port: Int) -> String? {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host == "*" ? nil : host, String(port), &hints, &result)
        guard rc == 0, let info = result else {
            return "cannot resolve \(host): \(String(cString: gai_strerror(rc)))"
        }
        defer { freeaddrinfo(info) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
            let e = errno
            if e == EADDRINUSE { return "address already in use (is another tailcast running? choose another port with --listen)" }
            return String(cString: strerror(e))
        }
        return nil
    }
}
