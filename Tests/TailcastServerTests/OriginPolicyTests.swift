import Testing

@testable import TailcastServer

@Suite struct OriginPolicyTests {
    @Test func sameOriginAndListedOriginsAreAllowed() {
        #expect(OriginPolicy.allows(origin: "http://127.0.0.1:8080", host: "127.0.0.1:8080", allowed: []))
        #expect(OriginPolicy.allows(origin: "https://logs.example.com", host: "127.0.0.1:8080", allowed: ["https://logs.example.com"]))
        #expect(OriginPolicy.allows(origin: "https://evil.example", host: "127.0.0.1:8080", allowed: ["*"]))
    }

    @Test func foreignBrowserOriginsAreRefused() {
        #expect(!OriginPolicy.allows(origin: "https://evil.example", host: "127.0.0.1:8080", allowed: []))
        #expect(!OriginPolicy.allows(origin: "http://127.0.0.1:9999", host: "127.0.0.1:8080", allowed: []))
        #expect(!OriginPolicy.allows(origin: "null", host: "127.0.0.1:8080", allowed: []))
    }

    @Test func nonBrowserOriginsAreNotChecked() {
        // swift-websocket's client sends its URL's scheme and host as Origin.
        #expect(OriginPolicy.allows(origin: "ws://127.0.0.1", host: "127.0.0.1:8080", allowed: []))
    }
}
