import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import TailcastCore
@testable import TailcastServer

private func server(lines: [String]) -> TailcastServer {
    var config = Config()
    config.sources.append(SourceConfig(name: "app", kind: .file, path: "/nonexistent/app.log", limits: SourceLimits(), line: 0))
    let s = try! TailcastServer(config: config, logger: Logger(label: "test"))  // no [tls]: cannot throw
    var b = LineBlockBuilder(source: "app", nextSeq: 1, maxLineBytes: 4096)
    for l in lines { Array(l.utf8).withUnsafeBytes { b.append($0, truncated: false) } }
    s.runtime.sources[0].publish(b.finish()!, bytesRead: 0)
    return s
}

@Suite struct LinesRouteTests {
    @Test func optionsSplitFollowFormatAndTheHeaders() throws {
        let (o, rest) = try LinesOptions.split(
            [("q", "x"), ("follow", ""), ("format", "text"), ("since", "app:1")],
            accept: "text/event-stream", lastEventID: " app:7:ep ")
        #expect(o == LinesOptions(follow: true, format: .text))  // an explicit format wins over Accept
        #expect(rest.map(\.0) == ["q", "since", "since"])
        #expect(rest.last?.1 == "app:7:ep")  // last, so that it wins over the URL's since
        let (sse, _) = try LinesOptions.split([], accept: "text/html, text/event-stream;q=0.9", lastEventID: nil)
        #expect(sse.format == .sse && !sse.follow)
        for (params, param) in [([("follow", "yes")], "follow"), ([("format", "xml")], "format")] {
            #expect(throws: QueryError.self) { _ = try LinesOptions.split(params, accept: nil, lastEventID: nil) }
            do { _ = try LinesOptions.split(params, accept: nil, lastEventID: nil) } catch { #expect(error.param == param) }
        }
        do {
            _ = try LinesOptions.split([], accept: nil, lastEventID: String(repeating: "a", count: LinesOptions.maxLastEventIDBytes + 1))
            Issue.record("an oversized Last-Event-ID was taken")
        } catch {
            #expect(error.param == "since")
        }
    }

    @Test func oneShotAnswersInEachFormat() async throws {
        let s = server(lines: ["one", "two \"quoted\"", "three"])
        let app = s.application(supervisor: try SourceSupervisor(runtime: s.runtime))
        try await app.test(.live) { client in
            try await client.execute(uri: "/api/lines?n=2", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/x-ndjson")
                #expect(response.headers[.cacheControl] == "no-store")
                #expect(response.headers[HTTPField.Name("X-Accel-Buffering")!] == "no")
                let lines = String(buffer: response.body).split(separator: "\n")
                let objects = lines.map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
                #expect(objects.map { $0["text"] as! String } == ["two \"quoted\"", "three"])
                #expect(objects.map { ($0["seq"] as! NSNumber).intValue } == [2, 3])
            }
            try await client.execute(uri: "/api/lines?n=3&format=text", method: .get) { response in
                #expect(response.headers[.contentType] == "text/plain; charset=utf-8")
                #expect(String(buffer: response.body) == "one\ntwo \"quoted\"\nthree\n")
            }
            try await client.execute(
                uri: "/api/lines?since=app:2", method: .get,
                headers: [.accept: "text/event-stream", HTTPField.Name("Last-Event-ID")!: "app:1"]
            ) { response in
                #expect(response.headers[.contentType] == "text/event-stream")
                let body = String(buffer: response.body)
                #expect(body.hasPrefix("event: lines\ndata: {\"type\":\"lines\",\"lines\":[{\"source\":\"app\",\"seq\":2,"))
                #expect(body.hasSuffix("\nid: app:3:\(s.runtime.sources[0].epoch)\n\n"))
            }
        }
    }

    @Test func badQueriesAnswer400WithTheErrorEnvelope() async throws {
        let s = server(lines: ["one"])
        let app = s.application(supervisor: try SourceSupervisor(runtime: s.runtime))
        try await app.test(.live) { client in
            for (query, param) in [("n=-1", "n"), ("from=soon", "from"), ("source=nope", "source"), ("format=csv", "format")] {
                try await client.execute(uri: "/api/lines?\(query)", method: .get) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.headers[.contentType] == "application/json")
                    let e = try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as! [String: Any]
                    #expect(e["type"] as? String == "error" && e["code"] as? String == "bad_query")
                    #expect(e["param"] as? String == param)
                }
            }
        }
    }
}
