import Hummingbird
import TailcastCore

/// `/api/sources`: every source with its kind, state, last `seq` and path.
enum SourceRoutes {
    static func add(to router: RouterGroup<TailcastRequestContext>, runtime: ServerRuntime) {
        router.get("/api/sources") { _, _ in
            let items = runtime.sources.map { s -> String in
                let state = s.state
                let (first, next) = s.ring.bounds
                var item = "{\"name\":\(JSONString.quoted(s.name)),\"kind\":\"\(s.kind.rawValue)\",\"state\":\"\(state.name)\""
                item += ",\"seq\":\(next - 1),\"first_seq\":\(first),\"epoch\":\(JSONString.quoted(s.epoch))"
                if let m = state.message { item += ",\"error\":\(JSONString.quoted(m))" }
                if let p = s.path { item += ",\"path\":\(JSONString.quoted(p))" }
                return item + "}"
            }
            return JSONResponse.make(.ok, "[" + items.joined(separator: ",") + "]")
        }
    }
}
