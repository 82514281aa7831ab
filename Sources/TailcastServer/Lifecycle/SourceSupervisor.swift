import Logging
import ServiceLifecycle
import Synchronization
import TailcastCore

/// Starts the source threads (one for every file, one per journal), keeps them for the life of
/// the process, applies reloads, and stops them last.
///
/// Promises: `run()` never returns on a source error (sources report errors in their state and
/// retry on their own); it returns after graceful shutdown, once every file and journal is closed.
public struct SourceSupervisor: Service {
    let runtime: ServerRuntime
    let fileThread: FileTailThread
    private let journals: JournalThreads

    public init(runtime: ServerRuntime) throws(SourceError) {
        self.runtime = runtime
        let files = runtime.sourceRegistry.all.compactMap { entry -> (SourceHandle, FileSourceSettings)? in
            Self.fileSettings(entry.config, saved: runtime.savedPositions[entry.config.name]).map { (entry.handle, $0) }
        }
        let store = runtime.config.server.stateDir.map { SavedPositions(directory: $0) }
        fileThread = try FileTailThread(sources: files, logger: runtime.logger, store: store)
        journals = JournalThreads()
        for entry in runtime.sourceRegistry.all where entry.config.kind == .journald {
            try journals.add(
                entry.handle, entry.config, stateDir: runtime.config.server.stateDir,
                saved: runtime.journalPositions[entry.config.name], logger: runtime.logger)
        }
    }

    static func fileSettings(_ config: SourceConfig, saved: SavedPosition?) -> FileSourceSettings? {
        guard config.kind == .file, let path = config.path else { return nil }
        return FileSourceSettings(
            path: path, initialLines: config.limits.initialLines,
            maxLineBytes: config.limits.maxLineBytes,
            rotateWaitMillis: config.limits.rotateWaitMillis, saved: saved)
    }

    /// Starts reading; called before the server accepts connections.
    public func start() throws(SourceError) {
        try fileThread.start()
        journals.startAll()
    }

    /// Stops following `entry`'s source (a reload removed or changed it).
    func remove(_ entry: SourceRegistry.Entry) {
        switch entry.config.kind {
        case .file: fileThread.remove(entry.config.name)
        case .journald:
            journals.stop(entry.config.name)
            entry.handle.ring.record(SourceEvent(.missing, "source \(entry.config.name) was removed from the config"))
        }
    }

    /// Starts following `entry`'s source (a reload added or changed it).
    func add(_ entry: SourceRegistry.Entry) throws(SourceError) {
        switch entry.config.kind {
        case .file:
            if let settings = Self.fileSettings(entry.config, saved: nil) { fileThread.add(entry.handle, settings) }
        case .journald:
            try journals.add(
                entry.handle, entry.config, stateDir: runtime.config.server.stateDir, saved: nil,
                logger: runtime.logger)
            journals.startAll()
        }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        fileThread.stop()
        journals.stopAll()
        runtime.logger.debug("sources stopped")
    }
}

/// The journal threads by source name.
final class JournalThreads: Sendable {
    private let threads = Mutex<[String: JournalThread]>([:])

    func add(
        _ handle: SourceHandle, _ config: SourceConfig, stateDir: String?, saved: JournalPosition?,
        logger: Logger
    ) throws(SourceError) {
        guard var settings = config.journal else { return }
        settings.stateDir = stateDir
        settings.saved = saved
        let thread = try JournalThread(source: handle, settings: settings, logger: logger)
        threads.withLock { $0[config.name] = thread }
    }

    func startAll() {
        for t in threads.withLock({ Array($0.values) }) { t.start() }
    }

    func stop(_ name: String) {
        threads.withLock { $0.removeValue(forKey: name) }?.stop()
    }

    func stopAll() {
        for t in threads.withLock({ Array($0.values) }) { t.stop() }
    }
}

extension SourceSupervisor: CustomStringConvertible {
    /// A short name for the service-lifecycle logs.
    public var description: String { "SourceSupervisor" }
}
