import Synchronization
import TailcastCore

/// A `/api/lines` follow stream's place in the ``ConnectionHub``, given back exactly once:
/// by ``release()`` when the stream ends, or when the last reference goes away (a response
/// whose body was never written because the peer left first).
final class HubAdmission: Sendable {
    let inbox: ConnectionInbox
    private let hub: ConnectionHub
    private let metrics: PipelineMetrics
    private let released = Atomic<Bool>(false)

    init(hub: ConnectionHub, inbox: ConnectionInbox, metrics: PipelineMetrics) {
        self.hub = hub
        self.inbox = inbox
        self.metrics = metrics
        metrics.connections.increment()
    }

    /// Leaves the hub; later calls do nothing.
    func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        metrics.connections.decrement()
        hub.leave(inbox)
    }

    deinit {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        metrics.connections.decrement()
        hub.leave(inbox)
    }
}
