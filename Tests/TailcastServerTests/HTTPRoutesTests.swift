import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import TailcastCore
@testable import TailcastServer

private func server(paths: [String]) -> TailcastServer {
    var config = Config()
    for (i, p) in paths.enumerated() {
        config.sources.append(SourceConfig(name: "s\(i)", kind: .file, path: p, limits: SourceLimits(), line: 0))
    }
    return try! TailcastServer(config: config, logger: Logger(label: "test"))  // no [tls]: cannot throw
}

@Suite struct HTTPRoutesTests {
    @Test func healthzIsAlwaysOK() async throws {
        let s = server(paths: ["/nonexistent/dir/x.log"])
        let app = s.application(supervisor: try SourceSupervisor(runtime: s.runtime))
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"status":"ok"}"#)
            }
        }
    }

    @Test func readyzIsDegradedUntilEverySourceFollows() async throws {
        let s = server(paths: ["/nonexistent/dir/x.log"])
        s.runtime.sources[0].setState(.waiting("/nonexistent/dir/x.log directory /nonexistent/dir does not exist"))
        let app = s.application(supervisor: try SourceSupervisor(runtime: s.runtime))
        try await app.test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = String(buffer: response.body)
                #expect(body.contains(#""status":"degraded""#))
                #expect(body.contains(#""s0":{"state":"waiting","error":"#))
            }
            s.runtime.sources[0].setState(.following)
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"status":"ready","sources":{"s0":{"state":"following"}}}"#)
            }
        }
    }

    @Test func apiSourcesListsEverySource() async throws {
        let s = server(paths: ["/a.log", "/b.log"])
        let app = s.application(supervisor: try SourceSupervisor(runtime: s.runtime))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/sources", method: .get) { response in
                #expect(response.status == .ok)
                let items = try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as! [[String: Any]]
                #expect(items.map { $0["name"] as! String } == ["s0", "s1"])
                #expect(items[0]["kind"] as? String == "file")
                #expect(items[0]["path"] as? String == "/a.log")
                #expect((items[0]["seq"] as! NSNumber).intValue == 0)
            }
        }
    }

    @Test func metricsAreExposedInPrometheusText() async throws {
        let s = server(paths: ["/a.log"])
        let app = s.application(supervisor: try SourceSupervisor(runtime: s.runtime))
        try await app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.contains(#"tailcast_source_lines_read_total{source="s0"} 0"#))
                #expect(text.contains("tailcast_connections"))
            }
        }
    }

    @Test func uiIsServedWithAContentSecurityPolicy() async throws {
        let s = server(paths: ["/a.log"])
        let app = s.application(supervisor: try SourceSupervisor(runtime: s.runtime))
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            }
        }
    }
}
