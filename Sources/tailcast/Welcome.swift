import Foundation
import TailcastCore

#if canImport(Glibc)
import Glibc
#endif

/// What a person who just ran `make run` needs once the server listens: the URL to open, one
/// `curl` to try and the config file in use.
///
/// Printed once, to stdout, and only when stdout is a terminal. Under systemd stdout goes to
/// the journal, and in a pipeline to another program: there the `listening address=…` log line
/// on stderr already says where the server is, and a banner at every restart would be noise.
enum Welcome {
    /// Prints ``text(port:config:configPath:)`` when stdout is a terminal.
    /// - Parameter port: the bound port (differs from the config's for `--listen HOST:0`).
    static func show(port: Int?, config: Config, configPath: String?) {
        guard isatty(STDOUT_FILENO) == 1 else { return }
        FileHandle.standardOutput.write(Data(text(port: port ?? config.server.port, config: config, configPath: configPath).utf8))
    }

    /// Three or four short lines, each ending in "\n".
    static func text(port: Int, config: Config, configPath: String?) -> String {
        let base = "\(config.tls == nil ? "http" : "https")://\(browsableHost(config.server.host)):\(port)\(config.server.basePath)/"
        var curl = "curl -fsS"
        if config.auth != nil { curl += " -H 'Authorization: Bearer TOKEN'" }
        curl += " '\(base)api/sources'"
        var lines = ["tailcast is listening: open \(base) in a browser, or try", "  \(curl)"]
        if let auth = config.auth { lines.append("  (TOKEN: a token from \(auth.tokensFile))") }
        let names = config.sources.map(\.name).joined(separator: ", ")
        let sources = "\(config.sources.count) source\(config.sources.count == 1 ? "" : "s"): \(names)"
        if let configPath {
            let absolute = configPath.hasPrefix("/") ? configPath : FileManager.default.currentDirectoryPath + "/" + configPath
            lines.append("config: \(absolute) (\(sources))")
        } else {
            lines.append("config: none, built-in defaults (\(sources))")
        }
        return lines.map { $0 + "\n" }.joined()
    }

    /// A host a browser on this machine can open: loopback for a wildcard listen address,
    /// brackets around IPv6.
    static func browsableHost(_ host: String) -> String {
        switch host {
        case "0.0.0.0", "*", "": "127.0.0.1"
        case "::", "[::]": "[::1]"
        default: host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        }
    }
}
