import Testing

@testable import TailcastClient

@Suite struct ServerMessageTests {
    func decode(_ s: String) throws -> ServerMessage { try ServerMessage.decode(Array(s.utf8)) }

    @Test func helloCarriesEpochsAndSeqs() throws {
        let m = try decode(
            #"{"type":"hello","protocol":1,"server":"tailcast/0.1.0","sources":["a","b"],"epochs":{"a":"e1","b":"e2"},"seqs":{"a":4,"b":0},"query":{"q":[]},"heartbeat_ms":15000}"#
        )
        #expect(m == .hello(.init(sources: ["a", "b"], epochs: ["a": "e1", "b": "e2"], seqs: ["a": 4, "b": 0], heartbeatMillis: 15000)))
    }

    @Test func droppedRestartedHasNullRangeAndEpoch() throws {
        let m = try decode(#"{"type":"dropped","source":"a","reason":"restarted","epoch":"old","from_seq":42,"to_seq":null,"count":null}"#)
        guard case .dropped(let d) = m else {
            Issue.record("\(m)")
            return
        }
        #expect(d.reason == "restarted" && d.epoch == "old" && d.fromSeq == 42 && d.toSeq == nil && d.count == nil)
        #expect(Notice.dropped(d).text(server: nil).contains("restarted without saved state"))
    }

    @Test func droppedNoticeStatesTheExactRange() throws {
        guard
            case .dropped(let d) = try decode(
                #"{"type":"dropped","source":"a","count":1200,"from_seq":100,"to_seq":1299,"reason":"slow_consumer"}"#)
        else { return }
        #expect(
            Notice.dropped(d).text(server: "h:1") == "tailcast tail: h:1: a: 1200 lines lost (seq 100-1299): this client read too slowly")
    }

    @Test func errorsEventsAndUnknownTypes() throws {
        #expect(
            try decode(#"{"type":"error","code":"bad_query","param":"q","message":"bad pattern"}"#)
                == .error(ServerError(code: "bad_query", param: "q", message: "bad pattern")))
        #expect(
            try decode(#"{"type":"event","source":"a","event":"rotated","detail":"x"}"#)
                == .event(source: "a", event: "rotated", detail: "x"))
        #expect(try decode(#"{"type":"future","x":1}"#) == .other(type: "future"))
        #expect(throws: (any Error).self) { try decode("not json") }
    }

    @Test func lineFieldsDecodeAndUnknownFieldsAreIgnored() throws {
        guard
            case .lines(let l) = try decode(
                #"{"type":"lines","lines":[{"source":"j","seq":9,"ts":"t","text":"x","fields":{"unit":"n","pid":1},"truncated":true,"file":"/f","new":[1,{"a":"}"}]}]}"#
            )
        else { return }
        #expect(l.count == 1 && l[0].seq == 9 && l[0].truncated == true && l[0].file == "/f")
        #expect(String(decoding: l[0].raw, as: UTF8.self).hasSuffix(#""new":[1,{"a":"}"}]}"#))
    }
}
