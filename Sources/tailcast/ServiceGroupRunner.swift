import ServiceLifecycle

/// Runs the server's service group (kept apart so the command stays thin).
struct ServiceGroupRunner {
    let group: ServiceGroup
    init(_ group: ServiceGroup) { self.group = group }
    func run() async throws { try await group.run() }
}
