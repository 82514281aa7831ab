/// Which browser origins may open a WebSocket: the server's own (the Origin names the Host the
/// request was sent to), those listed in `allowed_origins`, or any with `"*"`. Only browser
/// origins (`http://…`, `https://…`, `null`) are checked: a page cannot make a browser send
/// anything else, and some non-browser clients send `ws://host` as their Origin.
enum OriginPolicy {
    static func allows(origin: String, host: String?, allowed: [String]) -> Bool {
        if allowed.contains("*") || allowed.contains(origin) { return true }
        let isBrowserOrigin = origin == "null" || origin.hasPrefix("http://") || origin.hasPrefix("https://")
        if !isBrowserOrigin { return true }
        guard let host, !host.isEmpty else { return false }
        return origin == "http://" + host || origin == "https://" + host
    }
}
