import Testing

@testable import TailcastCore
@testable import TailcastServer

/// What a SIGHUP does not apply, and says so in the log.
@Suite struct ConfigReloaderTests {
    @Test func serverAuthAndTLSChangesAreNamedForTheNextStart() {
        var running = Config()
        running.auth = AuthSettings(tokensFile: "/etc/tailcast/tokens")
        #expect(ConfigReloader.restartOnly(running: running, loaded: running).isEmpty)

        var loaded = running
        loaded.sources.append(SourceConfig(name: "app", kind: .file, path: "/var/log/app.log", limits: SourceLimits(), line: 3))
        loaded.defaults.ringLines = 10
        #expect(ConfigReloader.restartOnly(running: running, loaded: loaded).isEmpty, "sources and [defaults] are applied")

        loaded.server.maxConnections = 5
        loaded.auth?.tokensFile = "/etc/tailcast/other-tokens"
        loaded.tls = TLSSettings(certificate: "/etc/tailcast/cert.pem", key: "/etc/tailcast/key.pem")
        #expect(ConfigReloader.restartOnly(running: running, loaded: loaded) == ["server", "auth", "tls"])
    }
}
