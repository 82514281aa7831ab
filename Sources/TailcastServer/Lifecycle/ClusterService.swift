import Foundation
import ServiceLifecycle

/// Runs this node's part on the bus for the life of the server: starts publishing and
/// consuming, and on shutdown stops them (the agent's last heartbeat tells viewers it stops).
struct ClusterService: Service, CustomStringConvertible {
    let node: ClusterNode
    var description: String { "ClusterService" }

    func run() async throws {
        node.start()
        try? await gracefulShutdown()
        // Stopping waits for the library's threads: not on the cooperative pool.
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let t = Thread {
                node.stop()
                c.resume()
            }
            t.name = "tailcast-bus-stop"
            t.start()
        }
    }
}
