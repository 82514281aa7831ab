import Foundation
import Testing

@testable import TailcastCore

private func errors(_ text: String, baseDirectory: String? = nil) -> [ConfigError] {
    do {
        _ = try ConfigParser.parse(text, baseDirectory: baseDirectory)
        return []
    } catch { return error.errors }
}

/// The `[cluster]` table (contract: "Configuration of a node on the bus").
@Suite struct ClusterConfigTests {
    /// The contract's example block, as it stands there.
    static let contractExample = """
        [cluster]
        nats = ["nats://127.0.0.1:4222"]   # one or more bus servers (a cluster's members)
        host = "web-1"                      # this node's host name on the wire; default: the machine's
        role = "both"                       # "agent" (publish local sources), "viewer" (serve every host's), or "both"
        stream = "TAILCAST"                 # the JetStream stream, created if missing
        max_age = "24h"                     # the stream's retention by age ("30m", "24h", "7d")
        max_bytes = 1_073_741_824           # and by size
        replicas = 1                        # stream replicas (3 on a three-node cluster)
        agent_timeout_ms = 10_000           # a silent agent's sources become `missing` after this
        # credentials = "/etc/tailcast/nats.creds"   # NATS user credentials file, when the bus needs one
        # tls_ca = "/etc/tailcast/nats-ca.pem"       # verify the bus's TLS certificate
        """

    @Test func theContractExampleParses() throws {
        let c = try ConfigParser.parse(Self.contractExample)
        var expected = ClusterSettings(servers: ["nats://127.0.0.1:4222"], host: "web-1")
        expected.role = .both
        expected.stream = "TAILCAST"
        expected.maxAgeSeconds = 86_400
        expected.maxBytes = 1_073_741_824
        expected.replicas = 1
        expected.agentTimeoutMillis = 10_000
        expected.line = 1
        #expect(c.cluster == expected)
        #expect(c.sources.isEmpty)
    }

    @Test func everyKeyGivenIsKept() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tc-cluster-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(FileManager.default.createFile(atPath: dir + "/nats.creds", contents: Data("creds".utf8)))
        #expect(FileManager.default.createFile(atPath: dir + "/ca.pem", contents: Data("pem".utf8)))
        let c = try ConfigParser.parse(
            """
            # a viewer of a three-node bus
            [cluster]
            nats = [
              "tls://nats-1.example.com:4222",
              "nats-2:4222",
              "[::1]:4223",
            ]
            host = "viewer.eu_1"
            role = "viewer"
            stream = "logs-prod_2"
            max_age = "7d"
            max_bytes = 1_048_576
            replicas = 3
            agent_timeout_ms = 1_000
            credentials = "nats.creds"
            tls_ca = "\(dir)/ca.pem"
            """, baseDirectory: dir)
        let cluster = try #require(c.cluster)
        #expect(cluster.servers == ["tls://nats-1.example.com:4222", "nats://nats-2:4222", "nats://[::1]:4223"])
        #expect(cluster.host == "viewer.eu_1")
        #expect(cluster.role == .viewer)
        #expect(cluster.stream == "logs-prod_2")
        #expect(cluster.maxAgeSeconds == 7 * 86_400)
        #expect(cluster.maxBytes == 1_048_576)
        #expect(cluster.replicas == 3)
        #expect(cluster.agentTimeoutMillis == 1000)
        #expect(cluster.credentials == dir + "/nats.creds")
        #expect(cluster.tlsCA == dir + "/ca.pem")
        #expect(cluster.line == 2)
    }

    @Test func defaults() throws {
        let c = try ConfigParser.parse(
            """
            [server]
            listen = "127.0.0.1:8080"

            [cluster]
            nats = "127.0.0.1:4222"

            [[source]]
            name = "app"
            kind = "file"
            path = "/var/log/app.log"
            """)
        let cluster = try #require(c.cluster)
        #expect(cluster.servers == ["nats://127.0.0.1:4222"])
        #expect(cluster.host == ClusterSettings.defaultHost(ClusterSettings.machineHostName()))
        #expect(ClusterSettings.isValidHost(cluster.host))
        #expect(cluster.role == .both)
        #expect(cluster.stream == "TAILCAST")
        #expect(cluster.maxAgeSeconds == 86_400)
        #expect(cluster.maxBytes == 1 << 30)
        #expect(cluster.replicas == 1)
        #expect(cluster.agentTimeoutMillis == 10_000)
        #expect(cluster.credentials == nil && cluster.tlsCA == nil)
        #expect(cluster.line == 4)
        #expect(c.sources.map(\.name) == ["app"])
    }

    @Test func withoutTheTableANodeIsSingle() throws {
        let c = try ConfigParser.parse("[server]\nlisten = \"127.0.0.1:8080\"\n")
        #expect(c.cluster == nil)
    }

    @Test(arguments: [("90s", 90), ("1s", 1), ("30m", 1800), ("24h", 86_400), ("7d", 604_800), ("36500d", 3_153_600_000)])
    func maxAgeIsACountAndOneUnit(text: String, seconds: Int) throws {
        let c = try ConfigParser.parse("[cluster]\nnats = \"nats://127.0.0.1:4222\"\nmax_age = \"\(text)\"\n")
        #expect(c.cluster?.maxAgeSeconds == seconds)
    }

    /// One bad `key = value` on line 4, after a good `nats` (unless the bad key is `nats`):
    /// the error names the key, its line, and says what is expected.
    @Test(arguments: [
        ("nats = []", "nats", "at least one"),
        ("nats = 4222", "nats", "not an integer"),
        ("nats = \"http://127.0.0.1:4222\"", "nats", "\"http://127.0.0.1:4222\""),
        ("nats = \"nats://127.0.0.1\"", "nats", "\"nats://127.0.0.1\""),
        ("nats = \"nats://127.0.0.1:0\"", "nats", "port 1 to 65535"),
        ("nats = \"nats://127.0.0.1:65536\"", "nats", "\"nats://127.0.0.1:65536\""),
        ("nats = \"nats://127.0.0.1:+42\"", "nats", "\"nats://127.0.0.1:+42\""),
        ("nats = \"nats://user:secret@127.0.0.1:4222\"", "nats", "nats://HOST:PORT"),
        ("nats = \"nats://127.0.0.1:4222/\"", "nats", "\"nats://127.0.0.1:4222/\""),
        ("nats = \"nats://tls://a:4222\"", "nats", "\"nats://tls://a:4222\""),
        ("nats = \":4222\"", "nats", "\":4222\""),
        ("nats = \"[zz]:4222\"", "nats", "\"[zz]:4222\""),
        ("nats = [\"nats://a:1\", 2]", "nats", "got an integer"),
        ("host = \"web/1\"", "host", "\"web/1\""),
        ("host = \"\"", "host", "1 to 64"),
        ("host = \"web 1\"", "host", "1 to 64"),
        ("host = \"\(String(repeating: "h", count: 65))\"", "host", "1 to 64"),
        ("host = 1", "host", "must be a string"),
        ("role = \"observer\"", "role", "\"agent\", \"viewer\" or \"both\"; got \"observer\""),
        ("role = \"Both\"", "role", "got \"Both\""),
        ("stream = \"TAIL.CAST\"", "stream", "1 to 64 of A-Z a-z 0-9 _ -"),
        ("stream = \"\"", "stream", "1 to 64"),
        ("stream = \"\(String(repeating: "S", count: 65))\"", "stream", "1 to 64"),
        ("max_age = \"0s\"", "max_age", "from 1s"),
        ("max_age = \"24\"", "max_age", "got \"24\""),
        ("max_age = \"1w\"", "max_age", "s, m, h or d"),
        ("max_age = \"1.5h\"", "max_age", "whole number"),
        ("max_age = \"-1h\"", "max_age", "got \"-1h\""),
        ("max_age = \"+1h\"", "max_age", "got \"+1h\""),
        ("max_age = \"1h30m\"", "max_age", "got \"1h30m\""),
        ("max_age = \"36501d\"", "max_age", "36500d"),
        ("max_age = \"99999999999999999999d\"", "max_age", "duration"),
        ("max_age = 86400", "max_age", "got an integer"),
        ("max_bytes = 1_048_575", "max_bytes", "at least 1048576"),
        ("max_bytes = \"1GB\"", "max_bytes", "whole number"),
        ("replicas = 0", "replicas", "from 1 to 5; got 0"),
        ("replicas = 6", "replicas", "from 1 to 5; got 6"),
        ("agent_timeout_ms = 999", "agent_timeout_ms", "from 1000 to 3600000"),
        ("agent_timeout_ms = 3_600_001", "agent_timeout_ms", "from 1000 to 3600000"),
        ("credentials = \"/nonexistent/tailcast/nats.creds\"", "credentials", "/nonexistent/tailcast/nats.creds does not exist"),
        ("credentials = \"\"", "credentials", "file path"),
        ("tls_ca = \"/\"", "tls_ca", "is a directory"),
        ("tls_ca = \"/nonexistent/ca.pem\"", "tls_ca", "does not exist"),
        ("url = \"nats://a:1\"", "url", "unknown key url in [cluster]; known: agent_timeout_ms"),
    ])
    func aBadValueNamesItsKeyAndLine(assignment: String, key: String, message: String) {
        let nats = key == "nats" ? "" : "nats = [\"nats://127.0.0.1:4222\"]"
        let e = errors("# bus\n[cluster]\n\(nats)\n\(assignment)\n")
        #expect(e.count == 1, "\(e)")
        #expect(e.first?.line == 4)
        #expect(e.first?.key == key)
        #expect(e.first?.message.hasPrefix(key) == true || e.first?.message.contains("key \(key)") == true, "\(e)")
        #expect(e.first?.message.contains(message) == true, "\(e.first?.message ?? "")")
    }

    @Test func aBadBusURLInAMultiLineArrayNamesItsOwnLine() {
        let e = errors("[cluster]\nnats = [\n  \"nats://a:4222\",\n  \"nats://b\",\n]\n")
        #expect(e.map(\.line) == [4])
        #expect(e.map(\.key) == ["nats"])
    }

    @Test func theBusIsRequired() {
        let e = errors("[server]\nlisten = \"127.0.0.1:8080\"\n[cluster]\nrole = \"both\"\n")
        #expect(e.map(\.line) == [3])
        #expect(e.map(\.key) == ["nats"])
        #expect(e.first?.message.contains("[cluster] needs nats") == true)
    }

    @Test func clusterMustBeATable() {
        let e = errors("cluster = \"nats://127.0.0.1:4222\"\n")
        #expect(e.map(\.line) == [1])
        #expect(e.first?.message == "cluster must be a table ([cluster]), not a string")
    }

    @Test func everyProblemIsReportedAtOnce() {
        let e = errors(
            """
            [cluster]
            nats = "nats://127.0.0.1"
            role = "boss"
            replicas = 9
            """)
        #expect(e.map(\.line) == [2, 3, 4])
        #expect(e.map(\.key) == ["nats", "role", "replicas"])
    }

    @Test func aViewerNeedsNoSource() throws {
        let c = try ConfigParser.parse("[cluster]\nnats = \"nats://127.0.0.1:4222\"\nrole = \"viewer\"\n")
        #expect(c.cluster?.role == .viewer)
        #expect(c.sources.isEmpty)
    }

    @Test func aViewerRefusesLocalSourcesAtTheirLines() {
        let e = errors(
            """
            [[source]]
            name = "app"
            kind = "file"
            path = "/var/log/app.log"

            [cluster]
            nats = "nats://127.0.0.1:4222"
            role = "viewer"

            [[source]]
            name = "journal"
            kind = "journald"
            """)
        #expect(e.map(\.line) == [1, 10])
        #expect(e.map(\.key) == ["source", "source"])
        for error in e {
            #expect(error.message.contains("viewer-only node"))
            #expect(error.message.contains("reads no local sources"))
            #expect(error.message.contains("role = \"both\""))
        }
    }

    @Test func aViewersSourcesAreRefusedEvenWhenAnotherClusterKeyIsWrong() {
        let e = errors(
            """
            [cluster]
            nats = "nats://127.0.0.1:4222"
            role = "viewer"
            replicas = 0
            [[source]]
            name = "app"
            kind = "file"
            path = "/var/log/app.log"
            """)
        #expect(e.map(\.line) == [4, 5])
        #expect(e.map(\.key) == ["replicas", "source"])
    }

    @Test(arguments: [ClusterRole.agent, .both])
    func agentsKeepTodaysRuleAboutSources(role: ClusterRole) throws {
        let cluster = "[cluster]\nnats = \"nats://127.0.0.1:4222\"\nrole = \"\(role.rawValue)\"\n"
        let with = try ConfigParser.parse(cluster + "[[source]]\nname = \"app\"\nkind = \"file\"\npath = \"/var/log/app.log\"\n")
        #expect(with.sources.map(\.name) == ["app"])
        #expect(with.cluster?.role == role)
        let without = try ConfigParser.parse(cluster)
        #expect(without.sources.isEmpty)
    }

    /// An agent-only node serves no logs, so listening off loopback without [auth] exposes none;
    /// a node that serves them (viewer, both, or no bus) still needs [auth] or allow_anonymous.
    @Test(arguments: [("agent", false), ("both", true), ("viewer", true), (nil, true)] as [(String?, Bool)])
    func exposureOffLoopbackWithoutAuth(role: String?, isAProblem: Bool) throws {
        var text = "[server]\nlisten = \"0.0.0.0:8080\"\n"
        if let role { text += "[cluster]\nnats = \"nats://127.0.0.1:4222\"\nrole = \"\(role)\"\n" }
        let c = try ConfigParser.parse(text)
        #expect((c.exposureProblem != nil) == isAProblem)
    }

    @Test func defaultHostIsTheMachineNameMadeValid() {
        #expect(ClusterSettings.defaultHost("web-1.example.com") == "web-1.example.com")
        #expect(ClusterSettings.defaultHost("wéb 1") == "w-b-1")
        #expect(ClusterSettings.defaultHost("") == "localhost")
        #expect(ClusterSettings.defaultHost(String(repeating: "a", count: 80)).utf8.count == 64)
    }
}
