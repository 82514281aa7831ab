import ArgumentParser
import Foundation
import Logging
import TailcastCore
import TailcastServer

@main
struct TailcastCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tailcast",
        abstract: "Live log tailing over WebSocket: follow files like tail -F, filter like grep, watch in a browser.",
        discussion: """
            Start here:
              serve          run the server (the default command)
                             tailcast --file syslog=/var/log/syslog
              check-config   check a config file, each problem with its line number
                             tailcast check-config /etc/tailcast/tailcast.toml
              tail           follow a server from a terminal, like tail -F | grep --color
                             tailcast tail -i error

            More examples:
              tailcast --journal journal --file app=/var/log/app.log
              tailcast --config /etc/tailcast/tailcast.toml --listen 0.0.0.0:8080
                (off loopback a token is required: [auth] tokens_file in the config;
                 clients send Authorization: Bearer TOKEN or ?token=TOKEN;
                 or allow_anonymous = true in [server])
              tailcast tail --json -n 100 http://web-1:8080 http://web-2:8080 | jq -r .text
              curl -fsS http://127.0.0.1:8080/healthz
              python3 -m websockets 'ws://127.0.0.1:8080/ws?q=error&i'

            Without --config, tailcast reads ./etc/tailcast.toml if present, else /etc/tailcast/tailcast.toml.
            See 'tailcast help tail' for the terminal client.
            """,
        version: "tailcast \(EnvelopeWriter.serverName.split(separator: "/").last ?? "0")",
        subcommands: [Serve.self, CheckConfig.self, Tail.self],
        defaultSubcommand: Serve.self
    )
}

/// Prints one line on stderr.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the configured sources (the default command)."
    )

    @Option(name: .long, help: "Config file (TOML). Default: ./etc/tailcast.toml, else /etc/tailcast/tailcast.toml.")
    var config: String?

    @Option(name: .long, help: "Address to listen on, HOST:PORT (overrides [server] listen). Default 127.0.0.1:8080.")
    var listen: String?

    @Option(name: .long, help: "Follow a file as a source NAME (repeatable; replaces a configured source of that name).")
    var file: [String] = []

    @Option(name: .long, help: "Follow the local systemd journal as a source NAME (repeatable).")
    var journal: [String] = []

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        if let listen, case .failure(let e) = ListenAddress.parse(listen) {
            throw ValidationError("--listen: \(e.message)")
        }
        for name in journal where !SourceConfig.isValidName(name) {
            throw ValidationError("--journal takes a source NAME of A-Z a-z 0-9 _ . - (e.g. --journal journal); got \(name)")
        }
        for f in file {
            guard let eq = f.firstIndex(of: "="), SourceConfig.isValidName(String(f[..<eq])),
                !f[f.index(after: eq)...].isEmpty
            else {
                throw ValidationError(
                    "--file takes NAME=PATH with NAME of A-Z a-z 0-9 _ . - (e.g. --file syslog=/var/log/syslog); got \(f)")
            }
        }
    }

    func run() async throws {
        MemoryTuning.apply()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tailcast")

        let configPath = resolvedConfigPath()
        var cfg = Config()
        if let configPath { cfg = try ConfigFile.load(configPath) }
        cfg = applyOverrides(to: cfg)
        if let listen, case .success(let (host, port)) = ListenAddress.parse(listen) {
            cfg.server.host = host
            cfg.server.port = port
        }
        if let problem = cfg.exposureProblem {
            printError("tailcast: refusing to start: \(problem)")
            throw ExitCode(1)
        }
        guard !cfg.sources.isEmpty || cfg.cluster?.role == .viewer else {
            printError(
                "tailcast: no source configured. Add one with --file NAME=PATH (e.g. --file syslog=/var/log/syslog), --journal NAME, or a [[source]] table in the config file (see etc/tailcast.toml)."
            )
            throw ExitCode(2)
        }

        if let problem = ListenProbe.problem(host: cfg.server.host, port: cfg.server.port) {
            printError("tailcast: cannot listen on \(cfg.server.host):\(cfg.server.port): \(problem)")
            throw ExitCode(1)
        }
        var tokens: TokenTable?
        if let auth = cfg.auth {
            tokens = try TokensFile.load(auth.tokensFile)
            logger.notice("auth on", metadata: ["tokens": "\(tokens?.count ?? 0)", "file": "\(auth.tokensFile)"])
        }
        let server: TailcastServer
        do {
            server = try TailcastServer(config: cfg, logger: logger, tokens: tokens)
        } catch {
            for e in error.errors { printError("tailcast: \(e.message)") }
            throw ExitCode(1)
        }
        let names = cfg.sources.map(\.name).joined(separator: ",")
        let group: ServiceGroupRunner
        do {
            let overrides = self
            let reload: (@Sendable () throws -> Config)? = configPath.map { path in
                { @Sendable in
                    let text = try String(contentsOfFile: path, encoding: .utf8)
                    return overrides.applyOverrides(to: try ConfigParser.parse(text, baseDirectory: ConfigFile.directory(of: path)))
                }
            }
            group = ServiceGroupRunner(
                try server.serviceGroup(reload: reload) { channel in
                    logger.notice(
                        "listening",
                        metadata: [
                            "address": "\(channel.localAddress.map { "\($0)" } ?? "?")",
                            "sources": "\(names)",
                        ])
                    Welcome.show(port: channel.localAddress?.port, config: server.runtime.config, configPath: configPath)
                })
        } catch {
            printError("tailcast: cannot start the sources: \(error.description)")
            throw ExitCode(1)
        }
        do {
            try await group.run()
        } catch {
            let text = "\(error)"
            if text.contains("Address already in use") {
                printError(
                    "tailcast: cannot listen on \(cfg.server.host):\(cfg.server.port): address already in use (is another tailcast running? choose another port with --listen)"
                )
            } else {
                printError("tailcast: server failed on \(cfg.server.host):\(cfg.server.port): \(text)")
            }
            throw ExitCode(1)
        }
    }

    /// The config file: --config, else ./etc/tailcast.toml, else /etc/tailcast/tailcast.toml.
    private func resolvedConfigPath() -> String? {
        if let config { return config }
        for candidate in ["etc/tailcast.toml", "/etc/tailcast/tailcast.toml"]
        where FileManager.default.isReadableFile(atPath: candidate) {
            return candidate.hasPrefix("/") ? candidate : FileManager.default.currentDirectoryPath + "/" + candidate
        }
        return nil
    }

    /// The command line's sources and address on top of a config (at start and on reload).
    func applyOverrides(to base: Config) -> Config {
        var cfg = base
        for f in file {
            let eq = f.firstIndex(of: "=")!
            let name = String(f[..<eq])
            var path = String(f[f.index(after: eq)...])
            if !path.hasPrefix("/") { path = FileManager.default.currentDirectoryPath + "/" + path }
            let source = SourceConfig(name: name, kind: .file, path: path, limits: cfg.defaults, line: 0)
            if let i = cfg.sources.firstIndex(where: { $0.name == name }) {
                cfg.sources[i] = source
            } else {
                cfg.sources.append(source)
            }
        }
        for name in journal {
            var settings = JournalSourceSettings()
            settings.initialLines = cfg.defaults.initialLines
            settings.maxLineBytes = cfg.defaults.maxLineBytes
            let source = SourceConfig(name: name, kind: .journald, path: nil, limits: cfg.defaults, line: 0, journal: settings)
            if let i = cfg.sources.firstIndex(where: { $0.name == name }) {
                cfg.sources[i] = source
            } else {
                cfg.sources.append(source)
            }
        }
        if let listen, case .success(let (host, port)) = ListenAddress.parse(listen) {
            cfg.server.host = host
            cfg.server.port = port
        }
        return cfg
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a config file and print each problem with its line number."
    )

    @Argument(help: "The config file to check.")
    var file: String

    func run() async throws {
        let config = try ConfigFile.load(file)
        if let problem = config.exposureProblem {
            printError("\(file): \(problem)")
            throw ExitCode(1)
        }
        print("\(file): ok (\(config.sources.count) source\(config.sources.count == 1 ? "" : "s"))")
        if let cluster = config.cluster {
            // What the file says only: check-config never contacts the bus.
            print(
                "cluster: role \(cluster.role.rawValue), host \(cluster.host), stream \(cluster.stream), bus \(cluster.servers.joined(separator: ","))"
            )
        }
    }
}

/// Reads and parses the tokens file; on failure prints every problem and exits 1.
enum TokensFile {
    static func load(_ path: String) throws -> TokenTable {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            printError("tailcast: tokens file \(path) cannot be read (missing, or permissions?)")
            throw ExitCode(1)
        }
        do {
            return try TokenTable.parse(text)
        } catch {
            for e in error.errors { printError(e.rendered(file: path)) }
            throw ExitCode(1)
        }
    }
}

/// Reads and parses a config file; on failure prints every problem and exits 1.
enum ConfigFile {
    static func load(_ path: String) throws -> Config {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read (permissions?) or is not UTF-8" : "does not exist"
            printError("tailcast: config file \(path) \(reason)")
            throw ExitCode(1)
        }
        do {
            return try ConfigParser.parse(text, baseDirectory: directory(of: path))
        } catch {
            for e in error.errors { printError(e.rendered(file: path)) }
            throw ExitCode(1)
        }
    }

    /// The absolute directory holding `path` (relative paths in the config resolve against it).
    static func directory(of path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return (absolute as NSString).deletingLastPathComponent
    }
}
