import Testing

@testable import TailcastClient

@Suite struct ServerAddressTests {
    @Test func httpURLBecomesTheWebSocketEndpoint() throws {
        let a = try ServerAddress.parse("http://127.0.0.1:8080").get()
        #expect(a.webSocketURL(query: "n=10") == "ws://127.0.0.1:8080/ws?n=10")
        #expect(a.label == "127.0.0.1:8080")
    }

    @Test func httpsAndWssUseTLSAndTheirDefaultPort() throws {
        let a = try ServerAddress.parse("https://logs.example.com/tailcast/").get()
        #expect(a.secure)
        #expect(a.port == 443)
        #expect(a.webSocketURL(query: "") == "wss://logs.example.com:443/tailcast/ws")
        let b = try ServerAddress.parse("WSS://h:9443").get()
        #expect(b.secure && b.port == 9443)
        #expect(try ServerAddress.parse("http://h").get().port == 80)
    }

    @Test func aPathEndingInWsIsTheEndpointItself() throws {
        let a = try ServerAddress.parse("ws://127.0.0.1:8080/base/ws").get()
        #expect(a.path == "/base/ws")
    }

    @Test func queryInTheURLIsSentFirst() throws {
        let a = try ServerAddress.parse("http://h:1/?source=app#frag").get()
        #expect(a.webSocketURL(query: "q=x") == "ws://h:1/ws?source=app&q=x")
    }

    @Test func ipv6KeepsItsBrackets() throws {
        let a = try ServerAddress.parse("http://[::1]:8080").get()
        #expect(a.host == "[::1]" && a.port == 8080)
        #expect(a.label == "[::1]:8080")
    }

    @Test func badURLsSayWhatIsWrong() {
        #expect(throws: TailUsageError.self) { try ServerAddress.parse("http://h:99999").get() }
        #expect(throws: TailUsageError.self) { try ServerAddress.parse("http://:8080").get() }
        #expect(throws: TailUsageError.self) { try ServerAddress.parse("http://user:pw@h:1").get() }
        #expect(throws: TailUsageError.self) { try ServerAddress.parse("ftp://h").get() }
        if case .failure(let e) = ServerAddress.parse("http://h:abc") { #expect(e.message.contains("port")) }
    }

    @Test func onlySchemedArgumentsAreURLs() {
        #expect(ServerAddress.isURL("https://x"))
        #expect(!ServerAddress.isURL("error:5"))
        #expect(!ServerAddress.isURL("localhost:8080"))
    }
}
