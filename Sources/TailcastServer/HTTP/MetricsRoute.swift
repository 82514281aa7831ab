import Hummingbird
import TailcastCore

/// `/metrics` in the Prometheus text format.
enum MetricsRoute {
    static func add(to router: RouterGroup<TailcastRequestContext>, runtime: ServerRuntime) {
        router.get("/metrics") { _, _ in
            var bytes: [UInt8] = []
            runtime.registry.emit(into: &bytes)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
