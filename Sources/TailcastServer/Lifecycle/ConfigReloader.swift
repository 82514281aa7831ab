import Logging
import ServiceLifecycle
import TailcastCore
import UnixSignals

/// On SIGHUP, applies what can change without a restart:
/// - the config file's sources: added sources start, removed ones end with a `missing` event,
///   changed ones restart with a new epoch, and unchanged ones (and the connections reading
///   them) are untouched; a config with errors is logged line by line and ignored;
/// - the `[auth]` tokens file: the new table is in force for every check from then on, and
///   each open connection whose token is gone, or whose grant no longer covers a source it
///   reads, gets `unauthorized` and close 1008; a file with errors (or without any token) is
///   logged with `FILE:LINE` and the previous tokens stay in force;
/// - the `[tls]` certificate and key: new connections get the new ones, open ones keep theirs;
///   files that do not load are logged and the previous certificate stays in force.
///
/// `[server]` settings, and whether `[auth]` and `[tls]` are on (and their file paths), take
/// effect at the next start; a reload that changes them says so in the log.
struct ConfigReloader: Service {
    let runtime: ServerRuntime
    let supervisor: SourceSupervisor
    /// Reads the config file again; `nil` when the server runs without one.
    let load: (@Sendable () throws -> Config)?

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            await reload()
        }
    }

    /// One SIGHUP: the config's sources, the tokens file, the TLS certificate, each on its own
    /// (one that fails to load leaves the others to apply).
    func reload() async {
        if load != nil { reloadSources() }
        await reloadTokens()
        reloadTLS()
    }

    /// Reads the tokens file again; see the type's promises.
    func reloadTokens() async {
        guard let tokens = runtime.tokens, let path = runtime.config.auth?.tokensFile else { return }
        let logger = runtime.logger
        let table: TokenTable
        do {
            table = try TokenTable.load(path: path)
        } catch {
            for e in error.errors {
                logger.error("tokens reload refused, the previous tokens stay in force: \(e.rendered(file: path))")
            }
            return
        }
        guard table.count > 0 else {
            // Half-written by an editor, or emptied by mistake: locking everyone out is a restart's job.
            logger.error("tokens reload refused, the previous tokens stay in force: \(path): lists no token")
            return
        }
        tokens.replace(with: table)
        let revoked = runtime.hub.revoke(against: table)
        logger.notice(
            "tokens reloaded",
            metadata: [
                "file": "\(path)", "tokens": "\(table.count)",
                "connections_revoked": "\(revoked)",
            ])
    }

    /// Loads the TLS certificate and key again; see the type's promises.
    func reloadTLS() {
        guard let current = runtime.tls, let settings = runtime.config.tls else { return }
        do {
            let context = try TLSMaterial.load(settings)
            current.replace(with: context)
            runtime.logger.notice("TLS certificate reloaded", metadata: ["cert": "\(settings.certificate)"])
        } catch {
            for e in error.errors {
                runtime.logger.error("TLS reload refused, the previous certificate stays in force: \(e.message)")
            }
        }
    }

    private func reloadSources() {
        guard let load else { return }
        let logger = runtime.logger
        let config: Config
        do {
            config = try load()
        } catch let errors as ConfigErrors {
            for e in errors.errors { logger.error("reload refused: \(e.rendered(file: "config"))") }
            return
        } catch {
            logger.error("reload refused: \(error)")
            return
        }
        let needRestart = Self.restartOnly(running: runtime.config, loaded: config)
        if !needRestart.isEmpty {
            logger.notice("changes that take effect at the next start", metadata: ["tables": "\(needRestart.joined(separator: ","))"])
        }
        let old = runtime.sourceRegistry.all
        var kept: [String: SourceRegistry.Entry] = [:]
        for entry in old { kept[entry.config.name] = entry }
        let epoch = ServerRuntime.newEpoch()
        var next: [SourceRegistry.Entry] = []
        var added: [SourceRegistry.Entry] = []
        for source in config.sources {
            if let existing = kept[source.name], Self.same(existing.config, source) {
                next.append(existing)
                kept[source.name] = nil
            } else {
                let entry = SourceRegistry.Entry(
                    handle: ServerRuntime.makeHandle(
                        source, epoch: epoch, firstSeq: 1,
                        metrics: runtime.metrics, host: runtime.config.cluster?.host), config: source)
                next.append(entry)
                added.append(entry)
            }
        }
        for entry in kept.values { supervisor.remove(entry) }
        runtime.sourceRegistry.replace(with: next)
        if !added.isEmpty {
            // Queries by glob, or of every source, take in the added ones.
            runtime.hub.sourcesChanged()
        }
        for entry in added {
            do { try supervisor.add(entry) } catch {
                logger.error("cannot start source", metadata: ["source": "\(entry.config.name)", "error": "\(error.description)"])
            }
        }
        logger.notice(
            "config reloaded",
            metadata: [
                "added": "\(added.map(\.config.name).joined(separator: ","))",
                "removed": "\(kept.keys.sorted().joined(separator: ","))",
                "sources": "\(next.count)",
            ])
    }

    /// The tables whose changes a reload does not apply: `[server]`, and `[auth]` or `[tls]`
    /// turned on or off or pointed at other files (their files' contents are reloaded).
    static func restartOnly(running: Config, loaded: Config) -> [String] {
        var out: [String] = []
        if running.server != loaded.server { out.append("server") }
        if running.auth != loaded.auth { out.append("auth") }
        if running.tls != loaded.tls { out.append("tls") }
        var a = running.cluster
        var b = loaded.cluster
        a?.line = 0
        b?.line = 0
        if a != b { out.append("cluster") }
        return out
    }

    private static func same(_ a: SourceConfig, _ b: SourceConfig) -> Bool {
        var a = a
        var b = b
        a.line = 0
        b.line = 0
        return a == b
    }
}

extension ConfigReloader: CustomStringConvertible {
    /// A short name for the service-lifecycle logs.
    public var description: String { "ConfigReloader" }
}
