import Testing

@testable import TailcastCore

private func errors(_ text: String) -> [ConfigError] {
    do {
        _ = try ConfigParser.parse(text)
        return []
    } catch { return error.errors }
}

@Suite struct ConfigParserTests {
    @Test func parsesAFullConfig() throws {
        let c = try ConfigParser.parse(
            """
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
        let e = errors(
            """
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
        let e = errors(
            """
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
        let text =
            "[server]\r\nlisten = \"0.0.0.0:9000\"\r\nallowed_origins = [\r\n  \"https://a.example\",\r\n]\r\n\r\n"
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
        #expect(doc.root["a"]?.value == .array([.string("x"), .string("y")]))
        #expect(doc.root["b"]?.line == 5)
    }

    /// Every TOML 1.0 construct a config can hold (floats and dates have no key to go to),
    /// read into the expected Config.
    @Test func parsesEveryTOMLConstructAConfigCanHold() throws {
        let c = try ConfigParser.parse(
            #"""
            # tailcast, every TOML construct a config can hold
            "server".listen = '0.0.0.0:9000'
            server.heartbeat_ms = 1_000
            server.write_timeout_ms = 0x4E20
            server.max_connections = 0o4000
            server.max_frame_bytes = 0b10_0000_0000_0000_0000
            server.max_patterns = +8
            server.allow_anonymous = true
            server.allowed_origins = [
              "https://a.example",   # a comment inside an array
              'https://b.example',
            ]
            server.state_dir = """/var/lib/\
                tailcast"""
            server.slow_consumer = "\u0064isconnect"
            tls = { cert = "/etc/tc/cert.pem", key = '''/etc/tc/key.pem''' }

            [defaults]
            ring_lines = 0x30D40
            "initial_lines" = 500

            [ auth ]
            tokens_file = "/etc/tailcast/tokens"
            protect_metrics = false

            [[source]]
            name = "app"
            kind = "file"
            path = """
            /var/log/app.log"""
            rotate_wait_ms = 2_000

            [[ source ]]   # spaces inside the brackets
            name = 'journal'
            kind = "journald"
            priority = "warn"
            units = ["nginx.service",
                     "ssh.service"]
            matches = [ '_COMM=sshd' ]
            """#)
        var expected = Config()
        expected.server.host = "0.0.0.0"
        expected.server.port = 9000
        expected.server.heartbeatMillis = 1000
        expected.server.writeTimeoutMillis = 20_000
        expected.server.maxConnections = 2048
        expected.server.maxFrameBytes = 131_072
        expected.server.maxPatterns = 8
        expected.server.allowAnonymous = true
        expected.server.allowedOrigins = ["https://a.example", "https://b.example"]
        expected.server.stateDir = "/var/lib/tailcast"
        expected.server.slowConsumer = .disconnect
        expected.tls = TLSSettings(certificate: "/etc/tc/cert.pem", key: "/etc/tc/key.pem")
        expected.defaults.ringLines = 200_000
        expected.defaults.initialLines = 500
        var auth = AuthSettings(tokensFile: "/etc/tailcast/tokens")
        auth.protectMetrics = false
        expected.auth = auth
        var appLimits = expected.defaults
        appLimits.rotateWaitMillis = 2000
        var journal = JournalSourceSettings()
        journal.priority = 4
        journal.units = ["nginx.service", "ssh.service"]
        journal.matches = ["_COMM=sshd"]
        journal.initialLines = 500
        expected.sources = [
            SourceConfig(name: "app", kind: .file, path: "/var/log/app.log", limits: appLimits, line: 26),
            SourceConfig(name: "journal", kind: .journald, path: nil, limits: expected.defaults, line: 33, journal: journal),
        ]
        #expect(c == expected)
    }

    /// Sources as an inline array of inline tables; `[defaults]` as dotted keys after them.
    @Test func parsesSourcesAsInlineTables() throws {
        let c = try ConfigParser.parse(
            """
            source = [
              { name = "a", kind = "file", path = "/var/log/a", max_line_bytes = 1_024 },
              # a comment between items
              { name = "j", kind = "journald", priority = 3, identifiers = ["sshd"] },
            ]
            server = { listen = "127.0.0.1:0", base_path = "/logs/" }
            defaults.initial_lines = 0
            """)
        #expect(c.sources.map(\.name) == ["a", "j"])
        #expect(c.sources.map(\.line) == [2, 4])
        #expect(c.sources[0].limits.maxLineBytes == 1024)
        #expect(c.sources.map(\.limits.initialLines) == [0, 0])
        #expect(c.sources[1].journal?.priority == 3)
        #expect(c.sources[1].journal?.identifiers == ["sshd"])
        #expect(c.server.port == 0 && c.server.basePath == "/logs")
    }

    @Test func namesTheLineOfEveryProblemInNewTOMLForms() {
        let e = errors(
            """
            source = [
              { name = "a", kind = "file", path = "/a" },
              { name = "b", kind = "files", path = "/b" },
              "c",
            ]
            server.colour = "blue"
            defaults = 5
            server.allowed_origins = [
              "https://ok.example",
              "ftp://bad.example",
            ]
            [tls.extra]
            """)
        #expect(e.map(\.line) == [3, 4, 6, 7, 10, 12, 12])
        #expect(e.map(\.key) == ["kind", "source", "colour", "defaults", "allowed_origins", "extra", "cert"])
        #expect(errors("[source]\nname = \"a\"\n").first?.message == "sources are [[source]] tables (double brackets)")
        #expect(errors("ring_lines = 1.5e3\n").first?.message.contains("unknown key ring_lines at top level") == true)
        #expect(errors("[defaults]\nring_lines = 1.5e3\n").first?.message == "ring_lines must be a whole number, not a float")
        #expect(errors("[server]\nlisten = 1979-05-27\n").first?.message == "listen must be a string in quotes, not a date-time")
    }
}
