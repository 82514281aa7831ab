import Hummingbird
import TailcastCore

/// `/healthz` (liveness) and `/readyz` (every source following, and on a bus, the bus connected).
enum HealthRoutes {
    static func add(to router: RouterGroup<TailcastRequestContext>, runtime: ServerRuntime) {
        router.get("/healthz") { _, _ in
            JSONResponse.make(.ok, #"{"status":"ok"}"#)
        }
        router.head("/healthz") { _, _ in
            JSONResponse.make(.ok, #"{"status":"ok"}"#)
        }
        router.get("/readyz") { _, _ in
            var ready = true
            var parts: [String] = []
            for s in runtime.sources {
                let state = s.state
                if state != .following { ready = false }
                var entry = "\"state\":\"\(state.name)\""
                if let m = state.message { entry += ",\"error\":\(JSONString.quoted(m))" }
                parts.append("\(JSONString.quoted(s.name)):{\(entry)}")
            }
            var bus = ""
            if let node = runtime.cluster {
                // On a bus, ready also means connected to it.
                let up = node.isConnected
                if !up { ready = false }
                bus = ",\"bus\":\"\(up ? "connected" : "disconnected")\""
            }
            let body = "{\"status\":\"\(ready ? "ready" : "degraded")\"\(bus),\"sources\":{\(parts.joined(separator: ","))}}"
            return JSONResponse.make(ready ? .ok : .serviceUnavailable, body)
        }
    }
}

/// Builds JSON responses from text that is already JSON.
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ json: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: json)))
    }
}
