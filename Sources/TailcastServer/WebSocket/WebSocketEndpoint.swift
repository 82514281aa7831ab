import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import TailcastCore

/// `/ws`: which upgrade requests become WebSockets, with what response headers, and the
/// handler each one gets.
///
/// Promises: only `base_path + "/ws"` (with or without a trailing `/`) is upgraded; a browser
/// page of a foreign origin (cross-site WebSocket hijacking) and a `Host` the ``HostPolicy``
/// refuses are not; permessage-deflate is agreed when `[server] compression` is on and the
/// client offers it. Token and query are checked by the ``Connection`` after the upgrade, so
/// that a refused client gets an `error` envelope and a close code, as the contract says.
struct WebSocketEndpoint: Sendable {
    let runtime: ServerRuntime
    let path: String
    let hosts: HostPolicy
    /// The largest client message (and frame): 64 KiB.
    let maxMessageBytes = 1 << 16

    init(runtime: ServerRuntime, hosts: HostPolicy) {
        self.runtime = runtime
        self.path = runtime.config.server.basePath + "/ws"
        self.hosts = hosts
    }

    /// An accepted upgrade: its extra response headers and the compression agreed, if any.
    struct Acceptance {
        var headers = HTTPHeaders()
        var deflate: PerMessageDeflate.Agreement?
    }

    /// What the upgrade is answered with, or `nil` to refuse it.
    func accept(_ head: HTTPRequestHead, logger: Logger) -> Acceptance? {
        let target = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard target == path || target == path + "/" else { return nil }
        let host = head.headers.first(name: "host")
        if let origin = head.headers.first(name: "origin"),
            !OriginPolicy.allows(origin: origin, host: host, allowed: runtime.config.server.allowedOrigins)
        {
            logger.warning("refused a WebSocket from a foreign origin", metadata: ["origin": "\(LogText.escaped(origin))"])
            return nil
        }
        // The guard checked the first request's Host; a later one is checked here.
        guard hosts.allows(hostHeader: host) else { return nil }
        var acceptance = Acceptance()
        if runtime.config.server.compression,
            let agreement = PerMessageDeflate.negotiate(offers: head.headers["sec-websocket-extensions"])
        {
            acceptance.headers.add(name: "Sec-WebSocket-Extensions", value: agreement.responseHeader)
            acceptance.deflate = agreement
        }
        return acceptance
    }

    /// Puts the connection's handler at the end of the upgraded pipeline (after NIO's frame
    /// decoder, encoder and protocol-error handler).
    func startConnection(on channel: any Channel, head: HTTPRequestHead, deflate: PerMessageDeflate.Agreement?) throws {
        let query = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first
        let connection = Connection(
            runtime: runtime,
            parameters: QueryString.parse(query.map(String.init) ?? ""),
            authorization: head.headers.first(name: "authorization"),
            deflate: deflate.map { PerMessageDeflate($0, maxMessageBytes: maxMessageBytes) },
            maxMessageBytes: maxMessageBytes)
        try channel.pipeline.syncOperations.addHandler(connection)
    }
}
