import Testing
@testable import TailcastCore

private func errors(_ text: String) -> [ConfigError] {
    do { _ = try ConfigParser.parse(text); return [] } catch { return error.errors }
}

@Suite struct ConfigParserTests {
    @Test func parsesAFullConfig() throws {
        let c = try ConfigParser.parse("""
            # comment
            [server]
            listen = "0.0.0.0:9000"   # trailing comment
            heartbeat_ms = 1_000
            slow_consumer = 'disconnect'

            [defaults]
            ring_lines = 500

            [[source]]
            name = "app"
            kind = "file"
            path = "/var/log/app.log"
            rotate_wait_ms = 200

            [[source]]
            name = "b"
            kind = "file"
            path = "/b"
            """)
        #expect(c.server.host == "0.0.0.0" && c.server.port == 9000)
        #expect(c.server.heartbeatMillis == 1000)
        #expect(c.server.slowConsumer == .disconnect)
        #expect(c.sources.map(\.name) == ["app", "b"])
        #expect(c.sources[0].limits.ringLines == 500)
        #expect(c.sources[0].limits.rotateWaitMillis == 200)
        #expect(c.sources[1].limits.rotateWaitMillis == 1000)
    }

    @Test func reportsEveryProblemWithItsLine() {
        let e = errors("""
            [server]
            listen = 8080
            heartbeat_ms = 5
            colour = "blue"
            [[source]]
            name = "app"
            kind = "file"
            path = "relative.log"
            [weird]
            """)
        #expect(e.map(\.line) == [2, 3, 4, 8, 9])
        #expect(e.map(\.key) == ["listen", "heartbeat_ms", "colour", "path", "weird"])
    }

    @Test func rejectsDuplicateSourceNames() {
        let e = errors("""
            [[source]]
            name = "a"
            kind = "file"
            path = "/x"
            [[source]]
            name = "a"
            kind = "file"
            path = "/y"
            """)
        #expect(e.count == 1)
        #expect(e.first?.line == 5)
        #expect(e.first?.message.contains("duplicate source name a") == true)
    }

    @Test func reportsSyntaxErrors() {
        #expect(errors("[server\n").first?.line == 1)
        #expect(errors("[server]\nlisten = \"unterminated\n").first?.line == 2)
        #expect(errors("x\n").first?.line == 1)
    }

    /// Found by `make fuzz` (Fuzz/corpus/regressions/ConfigFuzz): lines were split on the
    /// Character "\n", which "\r\n" is not, so a CRLF file was one line and lost every key
    /// after its first.
    @Test func parsesCRLFLineEndingsLikeLF() throws {
        let text = "[server]\r\nlisten = \"0.0.0.0:9000\"\r\nallowed_origins = [\r\n  \"https://a.example\",\r\n]\r\n\r\n"
            + "[[source]]\r\nname = \"app\"\r\nkind = \"file\"\r\npath = \"/var/log/app.log\"\r\n"
        let c = try ConfigParser.parse(text)
        #expect(c.server.port == 9000)
        #expect(c.server.allowedOrigins == ["https://a.example"])
        #expect(c.sources.map(\.name) == ["app"])
        #expect(errors("[server]\r\nbogus = 1\r\n").map(\.line) == [2])
    }

    @Test func parsesMultiLineArrays() throws {
        let (doc, errs) = TOMLDocument.parse("a = [\n  \"x\", # one\n  \"y\",\n]\nb = 2\n")
        #expect(errs.isEmpty)
        #expect(doc.tables[0].entries.first?.value == .array([.string("x"), .string("y")]))
        #expect(doc.tables[0].entries.last?.line == 5)
    }
}
