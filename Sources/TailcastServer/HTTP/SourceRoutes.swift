import Hummingbird
import TailcastCore

/// `/api/sources`: every source the request's token may read, with its kind, state, last `seq`
/// and path.
enum SourceRoutes {
    /// - Parameter router: the `api` group (which carries the token check when auth is on).
    static func add(to router: RouterGroup<TailcastRequestContext>, runtime: ServerRuntime) {
        router.get("sources") { _, context in
            let items = runtime.sources.filter { context.grant.allows($0.name) }.map { s -> String in
                let state = s.state
                let (first, next) = s.ring.bounds
                var item = "{\"name\":\(JSONString.quoted(s.name)),\"kind\":\"\(s.kind.rawValue)\",\"state\":\"\(state.name)\""
                item += ",\"seq\":\(next - 1),\"first_seq\":\(first),\"epoch\":\(JSONString.quoted(s.epoch))"
                if let m = state.message { item += ",\"error\":\(JSONString.quoted(m))" }
                if let p = s.path { item += ",\"path\":\(JSONString.quoted(p))" }
                if let h = s.host { item += ",\"host\":\(JSONString.quoted(h))" }
                return item + "}"
            }
            return JSONResponse.make(.ok, "[" + items.joined(separator: ",") + "]")
        }
    }
}
