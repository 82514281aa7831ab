import Foundation
import Testing

@testable import TailcastCore

@Suite struct AuthTests {
    static func hex(_ s: String) -> String {
        TokenTable.sha256(s.utf8).map { String(format: "%02x", $0) }.joined()
    }

    @Test func sha256MatchesTheStandardVectors() {
        #expect(Self.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Self.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Self.hex(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func tokensFileGivesGrantsByTokenOrDigest() throws {
        let table = try TokenTable.parse(
            """
            # operators
            admin-token-0123456789
            sha256:\(Self.hex("hashed-token-0123456789"))  app,web
            """)
        #expect(table.count == 2)
        #expect(table.authorize("admin-token-0123456789") == .allSources)
        #expect(table.authorize("hashed-token-0123456789") == .sources(["app", "web"]))
        #expect(table.authorize("admin-token-012345678") == nil)
        #expect(table.authorize("") == nil)
    }

    @Test func badTokenLinesCarryTheirLine() {
        do {
            _ = try TokenTable.parse("good-token-0123456789\nshort\nsha256:xyz\n")
            Issue.record("accepted")
        } catch {
            #expect(error.errors.map(\.line) == [2, 3])
        }
    }

    @Test func authTableIsParsed() throws {
        let c = try ConfigParser.parse(
            "[auth]\ntokens_file = \"/etc/tailcast/tokens\"\nprotect_metrics = false\n[server]\nallowed_origins = [\"https://logs.example.com/\"]\n"
        )
        #expect(
            c.auth
                == {
                    var a = AuthSettings(tokensFile: "/etc/tailcast/tokens")
                    a.protectMetrics = false
                    return a
                }())
        #expect(c.server.allowedOrigins == ["https://logs.example.com"])
    }
}
