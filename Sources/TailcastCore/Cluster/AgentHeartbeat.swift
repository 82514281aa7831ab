/// What an agent says about itself every heartbeat: its host, how often it speaks, and each
/// source's name, kind, path, state, epoch and held range. Viewers learn remote sources from it
/// and call an agent gone when it stops.
///
/// Promises: ``parse(_:)`` accepts only what ``json`` writes (well-formed names and epochs,
/// bounded counts) and returns `nil` for anything else.
public struct AgentHeartbeat: Sendable, Equatable {
    public struct Source: Sendable, Equatable {
        /// The configured name (without the host).
        public var name: String
        public var kind: SourceKind
        public var path: String?
        /// `following`, `waiting` or `error`, with the message for the last two.
        public var state: SourceState
        public var epoch: String
        /// The agent's ring: oldest held `seq` and the next `seq`.
        public var first: UInt64
        public var next: UInt64

        public init(
            name: String, kind: SourceKind, path: String?, state: SourceState, epoch: String, first: UInt64, next: UInt64
        ) {
            self.name = name
            self.kind = kind
            self.path = path
            self.state = state
            self.epoch = epoch
            self.first = first
            self.next = next
        }
    }

    public var host: String
    public var intervalMillis: Int
    /// `true` in the last heartbeat of an agent that is shutting down.
    public var stopping: Bool
    public var sources: [Source]

    /// At most this many sources per heartbeat (a bound on what a viewer accepts).
    public static let maxSources = 1024

    public init(host: String, intervalMillis: Int, stopping: Bool, sources: [Source]) {
        self.host = host
        self.intervalMillis = intervalMillis
        self.stopping = stopping
        self.sources = sources
    }

    /// The heartbeat as JSON.
    public var json: [UInt8] {
        var out = "{\"host\":\(JSONString.quoted(host)),\"interval_ms\":\(intervalMillis),\"stopping\":\(stopping),\"sources\":["
        for (i, s) in sources.enumerated() {
            if i > 0 { out += "," }
            out += "{\"name\":\(JSONString.quoted(s.name)),\"kind\":\"\(s.kind.rawValue)\""
            if let p = s.path { out += ",\"path\":\(JSONString.quoted(p))" }
            out += ",\"state\":\"\(s.state.name)\""
            if let m = s.state.message { out += ",\"message\":\(JSONString.quoted(m))" }
            out += ",\"epoch\":\(JSONString.quoted(s.epoch)),\"first\":\(s.first),\"next\":\(s.next)}"
        }
        out += "]}"
        return Array(out.utf8)
    }

    /// The heartbeat in `body`, or `nil` when it is not one.
    public static func parse(_ body: [UInt8]) -> AgentHeartbeat? {
        guard body.count <= 1 << 20, let v = try? JSONValue.parse(String(decoding: body, as: UTF8.self)),
            case .object(let top) = v
        else { return nil }
        func field(_ o: [(String, JSONValue)], _ k: String) -> JSONValue? { o.first { $0.0 == k }?.1 }
        guard case .string(let host)? = field(top, "host"), ClusterSettings.isValidHost(host),
            case .number(let interval)? = field(top, "interval_ms"), interval >= 1, interval <= 3_600_000,
            case .array(let list)? = field(top, "sources"), list.count <= maxSources
        else { return nil }
        var stopping = false
        if case .bool(let b)? = field(top, "stopping") { stopping = b }
        var sources: [Source] = []
        for item in list {
            guard case .object(let o) = item,
                case .string(let name)? = field(o, "name"), SourceConfig.isValidName(name),
                case .string(let kindName)? = field(o, "kind"), let kind = SourceKind(rawValue: kindName),
                case .string(let stateName)? = field(o, "state"),
                case .string(let epoch)? = field(o, "epoch"), isValidEpoch(epoch),
                case .number(let first)? = field(o, "first"), case .number(let next)? = field(o, "next"),
                first >= 0, next >= first, next < 9_007_199_254_740_992
            else { return nil }
            var path: String?
            if case .string(let p)? = field(o, "path") { path = p }
            var message = ""
            if case .string(let m)? = field(o, "message") { message = m }
            let state: SourceState
            switch stateName {
            case "following": state = .following
            case "waiting": state = .waiting(message)
            case "error": state = .error(message)
            default: return nil
            }
            sources.append(
                Source(name: name, kind: kind, path: path, state: state, epoch: epoch, first: UInt64(first), next: UInt64(next)))
        }
        return AgentHeartbeat(host: host, intervalMillis: Int(interval), stopping: stopping, sources: sources)
    }

    /// 1 to 16 of `A-Z a-z 0-9 _ -`, as the contract defines an epoch.
    public static func isValidEpoch(_ s: String) -> Bool {
        (1...16).contains(s.utf8.count)
            && s.utf8.allSatisfy { c in
                (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == 0x5F || c == 0x2D
            }
    }
}
