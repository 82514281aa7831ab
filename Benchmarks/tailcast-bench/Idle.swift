import ArgumentParser
import Foundation
import Logging
import Synchronization
import WSClient

/// Opens many WebSocket connections that stay idle, and reports the server's RSS per connection.
struct Idle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Hold idle connections; report server RSS per connection.")

    @Option(help: "WebSocket URL, e.g. ws://127.0.0.1:8080/ws") var url: String
    @Option var connections = 10_000
    @Option(help: "Server PID.") var serverPid: Int32
    @Option(help: "Seconds to hold the connections once all are open.") var hold = 3
    @Option var label = "tailcast"

    func run() async throws {
        var logger = Logger(label: "idle")
        logger.logLevel = .critical
        let log = logger
        let before = ProcStat.currentRSSKiB(pid: serverPid)
        let state = IdleState()
        let target = connections
        let url = self.url
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<target {
                group.addTask {
                    _ = try? await WebSocketClient.connect(url: url, logger: log) { inbound, _, _ in
                        var it = inbound.makeAsyncIterator()
                        _ = try await it.next()  // hello
                        state.opened.add(1, ordering: .relaxed)
                        while !state.release.load(ordering: .relaxed) {
                            try await Task.sleep(nanoseconds: 100_000_000)
                        }
                    }
                    state.failed.add(1, ordering: .relaxed)
                }
            }
            let deadline = Date().addingTimeInterval(120)
            while state.opened.load(ordering: .relaxed) + state.failed.load(ordering: .relaxed) < target, Date() < deadline {
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            try await Task.sleep(nanoseconds: UInt64(hold) * 1_000_000_000)
            let during = ProcStat.currentRSSKiB(pid: serverPid)
            let open = state.opened.load(ordering: .relaxed)
            let perConnection = open > 0 ? Double(during - before) / Double(open) : 0
            print(
                "\(label) (e): idle_connections=\(open) failed=\(state.failed.load(ordering: .relaxed)) rss_before_mib=\(String(format: "%.1f", Double(before) / 1024)) rss_with_connections_mib=\(String(format: "%.1f", Double(during) / 1024)) kib_per_connection=\(String(format: "%.1f", perConnection))"
            )
            state.release.store(true, ordering: .relaxed)
            group.cancelAll()
            try? await group.waitForAll()
        }
    }
}

final class IdleState: Sendable {
    let opened = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let release = Atomic<Bool>(false)
}

extension ProcStat {
    static func currentRSSKiB(pid: Int32) -> Int {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
}
