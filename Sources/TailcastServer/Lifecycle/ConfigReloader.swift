import Logging
import ServiceLifecycle
import TailcastCore
import UnixSignals

/// On SIGHUP, reads the config file again and applies its sources: added sources start,
/// removed ones end with a `missing` event, changed ones restart with a new epoch, and
/// unchanged ones (and the connections reading them) are untouched. A config with errors is
/// logged line by line and ignored. Server settings take effect at the next start.
struct ConfigReloader: Service {
    let runtime: ServerRuntime
    let supervisor: SourceSupervisor
    let load: @Sendable () throws -> Config

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            reload()
        }
    }

    private func reload() {
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
                let entry = SourceRegistry.Entry(handle: ServerRuntime.makeHandle(source, epoch: epoch, firstSeq: 1,
                                                                                metrics: runtime.metrics), config: source)
                next.append(entry)
                added.append(entry)
            }
        }
        for entry in kept.values { supervisor.remove(entry) }
        runtime.sourceRegistry.replace(with: next)
        for entry in added {
            do { try supervisor.add(entry) } catch {
                logger.error("cannot start source", metadata: ["source": "\(entry.config.name)", "error": "\(error.description)"])
            }
        }
        logger.notice("config reloaded", metadata: [
            "added": "\(added.map(\.config.name).joined(separator: ","))",
            "removed": "\(kept.keys.sorted().joined(separator: ","))",
            "sources": "\(next.count)",
        ])
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
