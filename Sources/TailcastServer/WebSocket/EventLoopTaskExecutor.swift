import NIOCore

/// Runs a connection's tasks on its channel's event loop, so polling the rings, building
/// frames and handing them to the channel happen on the thread that writes them to the socket:
/// no hop to and from the cooperative pool for every frame.
///
/// Promises: every job runs on `loop`, in the order enqueued. Work on the loop stays bounded:
/// a poll has a CPU budget of about 2 ms (``Subscription``), after which the task yields.
final class EventLoopTaskExecutor: TaskExecutor, Sendable {
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = self.asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}
