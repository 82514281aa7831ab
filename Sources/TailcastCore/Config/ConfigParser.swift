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
                            message: "unknown table [\(entry.key)]; tables are [server], [defaults], [auth], [tls] and [[source]]"))
                } else {
                    errors.append(
                        ConfigError(
                            line: entry.line, key: entry.key,
                            message: "unknown key \(entry.key) at top level; keys go in [server], [defaults] or [[source]]"))
                }
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
