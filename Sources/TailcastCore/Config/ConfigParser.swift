import Foundation

/// Reads a config file's text into a ``Config``.
///
/// Promises: every problem is reported with its line and the key at fault, all of them at once;
/// unknown tables and keys are errors (a typo never silently falls back to a default).
public enum ConfigParser {
    static let limitKeys: Set<String> = ["ring_lines", "ring_bytes", "initial_lines", "max_line_bytes", "rotate_wait_ms"]

    /// - Parameter baseDirectory: relative paths (`state_dir`) resolve against it (the config
    ///   file's directory); `nil`: the current directory.
    public static func parse(_ text: String, baseDirectory: String? = nil) throws(ConfigErrors) -> Config {
        let (doc, syntaxErrors) = TOMLDocument.parse(text)
        var errors = syntaxErrors
        var config = Config()
        // The role as read, even when another [cluster] key is wrong, to check the sources against.
        var clusterRole: ClusterRole?
        // [defaults] first, since sources inherit it wherever it stands in the file.
        if let e = doc.root["defaults"], let table = table(e, errors: &errors) {
            for e in table.entries { apply(e, to: &config.defaults, table: "defaults", errors: &errors) }
        }
        for entry in doc.root.entries {
            switch entry.key {
            case "server":
                guard let table = table(entry, errors: &errors) else { continue }
                for e in table.entries { applyServer(e, to: &config.server, errors: &errors) }
            case "defaults":
                break
            case "tls":
                guard let table = table(entry, errors: &errors) else { continue }
                var cert: String?
                var key: String?
                for e in table.entries {
                    switch e.key {
                    case "cert", "key":
                        guard let v = string(e, errors: &errors) else { continue }
                        guard v.hasPrefix("/") else {
                            errors.append(ConfigError(line: e.line, key: e.key, message: "\(e.key) must be an absolute path to a PEM file"))
                            continue
                        }
                        if e.key == "cert" { cert = v } else { key = v }
                    default:
                        errors.append(ConfigError(line: e.line, key: e.key, message: "unknown key \(e.key) in [tls]; known: cert, key"))
                    }
                }
                if let cert, let key {
                    config.tls = TLSSettings(certificate: cert, key: key)
                } else {
                    errors.append(
                        ConfigError(
                            line: table.line, key: cert == nil ? "cert" : "key", message: "[tls] needs both cert and key (PEM files)"))
                }
            case "auth":
                guard let table = table(entry, errors: &errors) else { continue }
                var file: String?
                var protect = true
                for e in table.entries {
                    switch e.key {
                    case "tokens_file":
                        if let s = string(e, errors: &errors) {
                            if s.hasPrefix("/") {
                                file = s
                            } else {
                                errors.append(ConfigError(line: e.line, key: e.key, message: "tokens_file must be an absolute path"))
                            }
                        }
                    case "protect_metrics":
                        if case .bool(let b) = e.value {
                            protect = b
                        } else {
                            errors.append(ConfigError(line: e.line, key: e.key, message: "protect_metrics must be true or false"))
                        }
                    default:
                        errors.append(
                            ConfigError(
                                line: e.line, key: e.key, message: "unknown key \(e.key) in [auth]; known: tokens_file, protect_metrics"))
                    }
                }
                if let file {
                    var auth = AuthSettings(tokensFile: file)
                    auth.protectMetrics = protect
                    config.auth = auth
                } else if !table.entries.isEmpty || errors.isEmpty {
                    errors.append(
                        ConfigError(line: table.line, key: "tokens_file", message: "[auth] needs tokens_file = \"/etc/tailcast/tokens\""))
                }
            case "cluster":
                guard let table = table(entry, errors: &errors) else { continue }
                let (settings, role) = cluster(table, baseDirectory: baseDirectory, errors: &errors)
                config.cluster = settings
                clusterRole = role
            case "source":
                switch entry.value {
                case .array(let items):
                    for (item, line) in zip(items.items, items.lines) {
                        guard case .table(let t) = item else {
                            errors.append(
                                ConfigError(
                                    line: line, key: "source",
                                    message:
                                        "source holds tables: [[source]] headers, or source = [{ name = \"…\", kind = \"…\", … }]; got \(item.typeName)"
                                ))
                            continue
                        }
                        guard let s = source(t, defaults: config.defaults, errors: &errors) else { continue }
                        if let other = config.sources.first(where: { $0.name == s.name }) {
                            errors.append(
                                ConfigError(
                                    line: t.line, key: "name",
                                    message: "duplicate source name \(s.name) (first defined on line \(other.line))"))
                        } else {
                            config.sources.append(s)
                        }
                    }
                case .table(let t):
                    errors.append(ConfigError(line: t.line, key: "source", message: "sources are [[source]] tables (double brackets)"))
                default:
                    errors.append(
                        ConfigError(
                            line: entry.line, key: "source",
                            message:
                                "source holds tables: [[source]] headers, or source = [{ name = \"…\", kind = \"…\", … }]; got \(entry.value.typeName)"
                        ))
                }
            default:
                if case .table(let t) = entry.value {
                    errors.append(
                        ConfigError(
                            line: t.line, key: entry.key,
                            message:
                                "unknown table [\(entry.key)]; tables are [server], [defaults], [auth], [tls], [cluster] and [[source]]"))
                } else {
                    errors.append(
                        ConfigError(
                            line: entry.line, key: entry.key,
                            message: "unknown key \(entry.key) at top level; keys go in [server], [defaults] or [[source]]"))
                }
            }
        }
        if clusterRole == .viewer {
            for s in config.sources {
                errors.append(
                    ConfigError(
                        line: s.line, key: "source",
                        message:
                            "a viewer-only node ([cluster] role = \"viewer\") reads no local sources; remove this [[source]] or use role = \"both\""
                    ))
            }
        }
        if !errors.isEmpty {
            throw ConfigErrors(errors.sorted { $0.line < $1.line })
        }
        if let dir = config.server.stateDir, !dir.hasPrefix("/") {
            let base = baseDirectory ?? FileManager.default.currentDirectoryPath
            config.server.stateDir = (base.hasSuffix("/") ? base : base + "/") + dir
        }
        return config
    }

    /// The table `e` holds (`[name]`, `name = { … }` or `name.key = …`), or an error.
    private static func table(_ e: TOMLEntry, errors: inout [ConfigError]) -> TOMLTable? {
        guard case .table(let t) = e.value else {
            errors.append(ConfigError(line: e.line, key: e.key, message: "\(e.key) must be a table ([\(e.key)]), not \(e.value.typeName)"))
            return nil
        }
        return t
    }

    private static func int(_ e: TOMLEntry, _ range: ClosedRange<Int>, errors: inout [ConfigError]) -> Int? {
        guard case .integer(let n) = e.value else {
            errors.append(ConfigError(line: e.line, key: e.key, message: "\(e.key) must be a whole number, not \(e.value.typeName)"))
            return nil
        }
        guard range.contains(n) else {
            errors.append(
                ConfigError(line: e.line, key: e.key, message: "\(e.key) must be from \(range.lowerBound) to \(range.upperBound); got \(n)")
            )
            return nil
        }
        return n
    }

    private static func string(_ e: TOMLEntry, errors: inout [ConfigError]) -> String? {
        guard case .string(let s) = e.value else {
            errors.append(ConfigError(line: e.line, key: e.key, message: "\(e.key) must be a string in quotes, not \(e.value.typeName)"))
            return nil
        }
        return s
    }

    private static func apply(_ e: TOMLEntry, to limits: inout SourceLimits, table: String, errors: inout [ConfigError]) {
        switch e.key {
        case "ring_lines": if let n = int(e, 1...100_000_000, errors: &errors) { limits.ringLines = n }
        case "ring_bytes": if let n = int(e, 65_536...(64 << 30), errors: &errors) { limits.ringBytes = n }
        case "initial_lines": if let n = int(e, 0...1_000_000, errors: &errors) { limits.initialLines = n }
        case "max_line_bytes": if let n = int(e, 256...(16 << 20), errors: &errors) { limits.maxLineBytes = n }
        case "rotate_wait_ms": if let n = int(e, 0...600_000, errors: &errors) { limits.rotateWaitMillis = n }
        default:
            errors.append(
                ConfigError(
                    line: e.line, key: e.key,
                    message: "unknown key \(e.key) in [\(table)]; known: \(limitKeys.sorted().joined(separator: ", "))"))
        }
    }

    private static func applyServer(_ e: TOMLEntry, to s: inout ServerSettings, errors: inout [ConfigError]) {
        switch e.key {
        case "listen":
            guard let text = string(e, errors: &errors) else { return }
            switch ListenAddress.parse(text) {
            case .success(let (host, port)):
                s.host = host
                s.port = port
            case .failure(let m): errors.append(ConfigError(line: e.line, key: e.key, message: "listen: \(m)"))
            }
        case "heartbeat_ms": if let n = int(e, 100...3_600_000, errors: &errors) { s.heartbeatMillis = n }
        case "write_timeout_ms": if let n = int(e, 100...3_600_000, errors: &errors) { s.writeTimeoutMillis = n }
        case "max_connections": if let n = int(e, 1...1_000_000, errors: &errors) { s.maxConnections = n }
        case "max_connections_per_address": if let n = int(e, 1...1_000_000, errors: &errors) { s.maxConnectionsPerAddress = n }
        case "max_frame_bytes": if let n = int(e, 4096...(16 << 20), errors: &errors) { s.maxFrameBytes = n }
        case "max_patterns": if let n = int(e, 1...256, errors: &errors) { s.maxPatterns = n }
        case "max_pattern_bytes": if let n = int(e, 16...65_536, errors: &errors) { s.maxPatternBytes = n }
        case "handshake_timeout_ms": if let n = int(e, 100...600_000, errors: &errors) { s.handshakeTimeoutMillis = n }
        case "base_path":
            guard let text = string(e, errors: &errors) else { return }
            let trimmed = text.hasSuffix("/") ? String(text.dropLast()) : text
            guard trimmed.isEmpty || (trimmed.hasPrefix("/") && !trimmed.contains("//") && !trimmed.contains("?")) else {
                errors.append(ConfigError(line: e.line, key: e.key, message: "base_path is a path prefix like \"/logs\""))
                return
            }
            s.basePath = trimmed
        case "state_dir":
            guard let text = string(e, errors: &errors) else { return }
            if text.isEmpty || text.contains("\0") {
                errors.append(
                    ConfigError(
                        line: e.line, key: e.key,
                        message: "state_dir is a directory path (absolute, or relative to the config file's directory)"))
            } else {
                s.stateDir = text
            }
        case "compression":
            if case .bool(let b) = e.value {
                s.compression = b
            } else {
                errors.append(ConfigError(line: e.line, key: e.key, message: "compression must be true or false"))
            }
        case "allow_anonymous":
            if case .bool(let b) = e.value {
                s.allowAnonymous = b
            } else {
                errors.append(ConfigError(line: e.line, key: e.key, message: "allow_anonymous must be true or false"))
            }
        case "allowed_hosts":
            guard let items = strings(e, errors: &errors) else { return }
            var out: [String] = []
            for item in items {
                guard let host = HostPolicy.normalizedName(item) else {
                    errors.append(
                        ConfigError(
                            line: e.line, key: e.key,
                            message:
                                "allowed_hosts holds host names or addresses like \"logs.example.com\" (no scheme, no port, no path) or \"*\"; got \(JSONString.quoted(item))"
                        ))
                    return
                }
                out.append(host)
            }
            s.allowedHosts = out
        case "allowed_origins":
            switch e.value {
            case .array(let items):
                var out: [String] = []
                for (item, line) in zip(items.items, items.lines) {
                    guard case .string(let o) = item, o == "*" || o.hasPrefix("http://") || o.hasPrefix("https://") else {
                        errors.append(
                            ConfigError(
                                line: line, key: e.key, message: "allowed_origins holds origins like \"https://logs.example.com\" or \"*\"")
                        )
                        return
                    }
                    out.append(o.hasSuffix("/") ? String(o.dropLast()) : o)
                }
                s.allowedOrigins = out
            default:
                errors.append(ConfigError(line: e.line, key: e.key, message: "allowed_origins must be an array of strings"))
            }
        case "slow_consumer":
            guard let text = string(e, errors: &errors) else { return }
            guard let p = SlowConsumerPolicy(rawValue: text) else {
                errors.append(
                    ConfigError(
                        line: e.line, key: e.key,
                        message: "slow_consumer must be \"drop\" or \"disconnect\"; got \(JSONString.quoted(text))"))
                return
            }
            s.slowConsumer = p
        default:
            errors.append(
                ConfigError(
                    line: e.line, key: e.key,
                    message:
                        "unknown key \(e.key) in [server]; known: allow_anonymous, allowed_hosts, allowed_origins, base_path, compression, handshake_timeout_ms, heartbeat_ms, state_dir, listen, max_connections, max_connections_per_address, max_frame_bytes, max_pattern_bytes, max_patterns, slow_consumer, write_timeout_ms"
                ))
        }
    }

    private static func strings(_ e: TOMLEntry, errors: inout [ConfigError]) -> [String]? {
        switch e.value {
        case .string(let s): return [s]
        case .array(let items):
            var out: [String] = []
            for (item, line) in zip(items.items, items.lines) {
                guard case .string(let s) = item else {
                    errors.append(
                        ConfigError(line: line, key: e.key, message: "\(e.key) must be an array of strings; got \(item.typeName)"))
                    return nil
                }
                out.append(s)
            }
            return out
        default:
            errors.append(
                ConfigError(line: e.line, key: e.key, message: "\(e.key) must be a string or an array of strings, not \(e.value.typeName)"))
            return nil
        }
    }

    static let clusterKeys = [
        "agent_timeout_ms", "credentials", "host", "max_age", "max_bytes", "nats", "replicas", "role", "stream", "tls_ca",
    ]

    /// The `[cluster]` table, or `nil` with errors; also the role as read (for the sources'
    /// check), even when another key is wrong. Checks that `credentials` and `tls_ca` exist and
    /// are readable files; never contacts the bus.
    private static func cluster(
        _ t: TOMLTable, baseDirectory: String?, errors: inout [ConfigError]
    ) -> (ClusterSettings?, ClusterRole?) {
        let before = errors.count
        var servers: [String] = []
        var natsGiven = false
        var settings = ClusterSettings(servers: [], host: "")
        var host: String?
        var role: ClusterRole?
        for e in t.entries {
            switch e.key {
            case "nats":
                natsGiven = true
                let items: [(TOMLValue, Int)]
                switch e.value {
                case .string: items = [(e.value, e.line)]
                case .array(let a): items = Array(zip(a.items, a.lines.map { $0 > 0 ? $0 : e.line }))
                default:
                    errors.append(
                        ConfigError(
                            line: e.line, key: e.key,
                            message: "nats must be a string or an array of strings, not \(e.value.typeName)"))
                    continue
                }
                guard !items.isEmpty else {
                    errors.append(
                        ConfigError(line: e.line, key: e.key, message: "nats needs at least one bus URL, like \"nats://127.0.0.1:4222\""))
                    continue
                }
                var out: [String] = []
                for (item, line) in items {
                    guard case .string(let text) = item else {
                        errors.append(
                            ConfigError(line: line, key: e.key, message: "nats must be an array of strings; got \(item.typeName)"))
                        continue
                    }
                    guard let url = busURL(text) else {
                        errors.append(
                            ConfigError(
                                line: line, key: e.key,
                                message:
                                    "nats holds bus URLs nats://HOST:PORT, tls://HOST:PORT or HOST:PORT (port 1 to 65535); got \(JSONString.quoted(text))"
                            ))
                        continue
                    }
                    out.append(url)
                }
                servers = out
            case "host":
                guard let s = string(e, errors: &errors) else { continue }
                if ClusterSettings.isValidHost(s), !s.contains("/") {
                    host = s
                } else {
                    errors.append(
                        ConfigError(
                            line: e.line, key: e.key,
                            message:
                                "host \(JSONString.quoted(s)) must be 1 to 64 of A-Z a-z 0-9 . _ - (source names on the bus are HOST/NAME)")
                    )
                }
            case "role":
                guard let s = string(e, errors: &errors) else { continue }
                if let r = ClusterRole(rawValue: s) {
                    role = r
                    settings.role = r
                } else {
                    errors.append(
                        ConfigError(
                            line: e.line, key: e.key,
                            message: "role must be \"agent\", \"viewer\" or \"both\"; got \(JSONString.quoted(s))"))
                }
            case "stream":
                guard let s = string(e, errors: &errors) else { continue }
                if isValidStreamName(s) {
                    settings.stream = s
                } else {
                    errors.append(
                        ConfigError(
                            line: e.line, key: e.key, message: "stream \(JSONString.quoted(s)) must be 1 to 64 of A-Z a-z 0-9 _ -"))
                }
            case "max_age":
                if case .string(let s) = e.value, let seconds = durationSeconds(s) {
                    settings.maxAgeSeconds = seconds
                } else {
                    let got = if case .string(let s) = e.value { JSONString.quoted(s) } else { e.value.typeName }
                    errors.append(
                        ConfigError(
                            line: e.line, key: e.key,
                            message:
                                "max_age is a duration string: a whole number and one unit, s, m, h or d (\"90s\", \"30m\", \"24h\", \"7d\"), from 1s to 36500d; got \(got)"
                        ))
                }
            case "max_bytes":
                guard case .integer(let n) = e.value else {
                    errors.append(
                        ConfigError(line: e.line, key: e.key, message: "max_bytes must be a whole number, not \(e.value.typeName)"))
                    continue
                }
                if n >= 1_048_576 {
                    settings.maxBytes = Int64(n)
                } else {
                    errors.append(ConfigError(line: e.line, key: e.key, message: "max_bytes must be at least 1048576 (1 MiB); got \(n)"))
                }
            case "replicas": if let n = int(e, 1...5, errors: &errors) { settings.replicas = n }
            case "agent_timeout_ms": if let n = int(e, 1000...3_600_000, errors: &errors) { settings.agentTimeoutMillis = n }
            case "credentials", "tls_ca":
                guard let s = string(e, errors: &errors) else { continue }
                guard let path = readableFile(s, baseDirectory: baseDirectory, key: e.key, line: e.line, errors: &errors) else {
                    continue
                }
                if e.key == "credentials" { settings.credentials = path } else { settings.tlsCA = path }
            default:
                errors.append(
                    ConfigError(
                        line: e.line, key: e.key,
                        message: "unknown key \(e.key) in [cluster]; known: \(clusterKeys.joined(separator: ", "))"))
            }
        }
        if !natsGiven {
            errors.append(
                ConfigError(
                    line: t.line, key: "nats",
                    message: "[cluster] needs nats = [\"nats://HOST:4222\"], the bus servers to join"))
        }
        guard errors.count == before else { return (nil, role) }
        settings.servers = servers
        settings.host = host ?? ClusterSettings.defaultHost(ClusterSettings.machineHostName())
        settings.line = t.line
        return (settings, role)
    }

    /// `nats://HOST:PORT`, `tls://HOST:PORT` or `HOST:PORT` (written back as `nats://HOST:PORT`),
    /// with HOST a name or address of `A-Z a-z 0-9 . _ -` or `[IPv6]`, and a port from 1 to
    /// 65535; `nil` for anything else (user info, paths, other schemes).
    static func busURL(_ text: String) -> String? {
        var scheme = "nats"
        var rest = Substring(text)
        if let s = ["nats", "tls"].first(where: { rest.hasPrefix($0 + "://") }) {
            scheme = s
            rest = rest.dropFirst(s.count + 3)
        }
        guard let colon = rest.lastIndex(of: ":") else { return nil }
        let host = rest[..<colon]
        let port = rest[rest.index(after: colon)...]
        guard (1...5).contains(port.utf8.count), port.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let n = Int(port), (1...65535).contains(n)
        else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") {
            let inner = host.dropFirst().dropLast()
            guard inner.contains(":"), inner.utf8.count <= 45,
                inner.utf8.allSatisfy({ c in
                    (0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c) || c == 0x3A || c == 0x2E
                })
            else { return nil }
        } else {
            guard (1...253).contains(host.utf8.count),
                host.utf8.allSatisfy({ c in
                    (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c)
                        || c == 0x5F || c == 0x2E || c == 0x2D
                })
            else { return nil }
        }
        return "\(scheme)://\(host):\(n)"
    }

    /// `true` for a JetStream stream name tailcast accepts: 1 to 64 of `A-Z a-z 0-9 _ -`.
    static func isValidStreamName(_ s: String) -> Bool {
        (1...64).contains(s.utf8.count)
            && s.utf8.allSatisfy { c in
                (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == 0x5F || c == 0x2D
            }
    }

    /// Seconds in `"90s"`, `"30m"`, `"24h"`, `"7d"` (digits, then one unit), from 1 s to
    /// 36 500 days (JetStream keeps the age in nanoseconds in 64 bits); `nil` otherwise.
    static func durationSeconds(_ text: String) -> Int? {
        guard let unit = text.last, (2...12).contains(text.utf8.count) else { return nil }
        let digits = text.dropLast()
        guard digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let count = Int(digits) else { return nil }
        let scale: Int
        switch unit {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        case "d": scale = 86_400
        default: return nil
        }
        let (seconds, overflow) = count.multipliedReportingOverflow(by: scale)
        guard !overflow, (1...36_500 * 86_400).contains(seconds) else { return nil }
        return seconds
    }

    /// `path` made absolute (against `baseDirectory`, else the current directory) when it
    /// names an existing, readable file; otherwise an error naming `key`.
    private static func readableFile(
        _ path: String, baseDirectory: String?, key: String, line: Int, errors: inout [ConfigError]
    ) -> String? {
        guard !path.isEmpty, !path.contains("\0") else {
            errors.append(ConfigError(line: line, key: key, message: "\(key) is a file path; got \(JSONString.quoted(path))"))
            return nil
        }
        let absolute: String
        if path.hasPrefix("/") {
            absolute = path
        } else {
            let base = baseDirectory ?? FileManager.default.currentDirectoryPath
            absolute = (base.hasSuffix("/") ? base : base + "/") + path
        }
        var isDirectory: ObjCBool = false
        let problem: String? =
            if !FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) {
                "does not exist"
            } else if isDirectory.boolValue {
                "is a directory, not a file"
            } else if !FileManager.default.isReadableFile(atPath: absolute) {
                "cannot be read (permissions?)"
            } else {
                nil
            }
        if let problem {
            errors.append(ConfigError(line: line, key: key, message: "\(key): \(absolute) \(problem)"))
            return nil
        }
        return absolute
    }

    static let journalKeys: Set<String> = ["units", "identifiers", "priority", "matches", "directory"]

    private static func source(_ t: TOMLTable, defaults: SourceLimits, errors: inout [ConfigError]) -> SourceConfig? {
        var name: String?
        var kind: SourceKind?
        var path: String?
        var limits = defaults
        var journal = JournalSourceSettings()
        var journalKeyLine: (String, Int)?
        let before = errors.count
        for e in t.entries {
            switch e.key {
            case "name":
                guard let s = string(e, errors: &errors) else { continue }
                if SourceConfig.isValidName(s) {
                    name = s
                } else {
                    errors.append(
                        ConfigError(
                            line: e.line, key: "name", message: "source name \(JSONString.quoted(s)) must be 1 to 64 of A-Z a-z 0-9 _ . -"))
                }
            case "kind":
                guard let s = string(e, errors: &errors) else { continue }
                if let k = SourceKind(rawValue: s) {
                    kind = k
                } else {
                    errors.append(
                        ConfigError(
                            line: e.line, key: "kind", message: "kind must be \"file\" or \"journald\"; got \(JSONString.quoted(s))"))
                }
            case "path":
                guard let s = string(e, errors: &errors) else { continue }
                if s.hasPrefix("/") {
                    path = s
                } else {
                    errors.append(
                        ConfigError(line: e.line, key: "path", message: "path must be absolute (start with /); got \(JSONString.quoted(s))")
                    )
                }
            case "units":
                journalKeyLine = journalKeyLine ?? (e.key, e.line)
                if let v = strings(e, errors: &errors) { journal.units = v }
            case "identifiers":
                journalKeyLine = journalKeyLine ?? (e.key, e.line)
                if let v = strings(e, errors: &errors) { journal.identifiers = v }
            case "matches":
                journalKeyLine = journalKeyLine ?? (e.key, e.line)
                guard let v = strings(e, errors: &errors) else { continue }
                for m in v where !m.contains("=") || m.hasPrefix("=") {
                    errors.append(
                        ConfigError(
                            line: e.line, key: "matches", message: "a match is FIELD=value, like journalctl's; got \(JSONString.quoted(m))")
                    )
                }
                journal.matches = v
            case "directory":
                journalKeyLine = journalKeyLine ?? (e.key, e.line)
                guard let s = string(e, errors: &errors) else { continue }
                if s.hasPrefix("/") {
                    journal.directory = s
                } else {
                    errors.append(
                        ConfigError(line: e.line, key: "directory", message: "directory must be absolute; got \(JSONString.quoted(s))"))
                }
            case "priority":
                journalKeyLine = journalKeyLine ?? (e.key, e.line)
                switch e.value {
                case .integer(let n) where Priority(rawValue: n) != nil: journal.priority = n
                case .string(let s) where Priority(s) != nil: journal.priority = Priority(s)?.rawValue
                default:
                    errors.append(ConfigError(line: e.line, key: "priority", message: "priority takes \(Priority.accepted)"))
                }
            default:
                if limitKeys.contains(e.key) {
                    apply(e, to: &limits, table: "[source]", errors: &errors)
                } else {
                    errors.append(
                        ConfigError(
                            line: e.line, key: e.key,
                            message:
                                "unknown key \(e.key) in [[source]]; known: name, kind, path (file), units, identifiers, priority, matches, directory (journald), \(limitKeys.sorted().joined(separator: ", "))"
                        ))
                }
            }
        }
        if name == nil, errors.count == before {
            errors.append(ConfigError(line: t.line, key: "name", message: "[[source]] needs a name"))
        }
        if kind == nil, errors.count == before {
            errors.append(ConfigError(line: t.line, key: "kind", message: "[[source]] needs kind = \"file\" or \"journald\""))
        }
        if kind == .file, path == nil, errors.count == before {
            errors.append(ConfigError(line: t.line, key: "path", message: "a file source needs path = \"/absolute/path\""))
        }
        if kind == .file, let (key, line) = journalKeyLine {
            errors.append(ConfigError(line: line, key: key, message: "\(key) applies to kind = \"journald\" sources only"))
        }
        if kind == .journald, path != nil {
            errors.append(
                ConfigError(
                    line: t.line, key: "path",
                    message: "a journald source reads the journal, not a path; use directory = \"/path/to/journal\" for a journal directory"
                ))
        }
        guard errors.count == before, let name, let kind else { return nil }
        journal.initialLines = limits.initialLines
        journal.maxLineBytes = limits.maxLineBytes
        return SourceConfig(
            name: name, kind: kind, path: path, limits: limits, line: t.line,
            journal: kind == .journald ? journal : nil)
    }
}

/// Parses `HOST:PORT` (`[::1]:PORT` for IPv6).
public enum ListenAddress {
    public static func parse(_ text: String) -> Result<(String, Int), ListenAddressError> {
        guard let colon = text.lastIndex(of: ":") else {
            return .failure(ListenAddressError(message: "expected HOST:PORT, e.g. 127.0.0.1:8080; got \(text)"))
        }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else {
            return .failure(ListenAddressError(message: "expected HOST:PORT with a port from 0 to 65535; got \(text)"))
        }
        return .success((host, port))
    }
}

/// A malformed `HOST:PORT`.
public struct ListenAddressError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
