import Logging
import ServiceLifecycle
import TailcastCore

/// Starts the source threads (one for every file, one per journal), keeps them for the life of the process, and stops them last.
///
/// Promises: `run()` never returns on a source error (sources report errors in their state and
/// retry on their own); it returns after graceful shutdown, once every file is closed.
public struct SourceSupervisor: Service {
    let runtime: ServerRuntime
    let fileThread: FileTailThread?
    let journalThreads: [JournalThread]

    public init(runtime: ServerRuntime) throws(SourceError) {
        self.runtime = runtime
        let files = runtime.config.sources.compactMap { config -> (SourceHandle, FileSourceSettings)? in
            guard config.kind == .file, let path = config.path, let handle = runtime.source(named: config.name) else { return nil }
            return (handle, FileSourceSettings(path: path, initialLines: config.limits.initialLines,
                                               maxLineBytes: config.limits.maxLineBytes,
                                               rotateWaitMillis: config.limits.rotateWaitMillis,
                                               saved: runtime.savedPositions[config.name]))
        }
        let store = runtime.config.server.stateDir.map { SavedPositions(directory: $0) }
        fileThread = files.isEmpty ? nil : try FileTailThread(sources: files, logger: runtime.logger, store: store)
        var journals: [JournalThread] = []
        for config in runtime.config.sources where config.kind == .journald {
            guard let handle = runtime.source(named: config.name), let settings = config.journal else { continue }
            journals.append(try JournalThread(source: handle, settings: settings, logger: runtime.logger))
        }
        journalThreads = journals
    }

    /// Starts reading; called before the server accepts connections.
    public func start() throws(SourceError) {
        try fileThread?.start()
        for j in journalThreads { j.start() }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        fileThread?.stop()
        for j in journalThreads { j.stop() }
        runtime.logger.debug("sources stopped")
    }
}
