import ArgumentParser
import Dispatch
import Foundation
import TailcastClient

/// `tailcast tail`: the terminal client. Parses the command line into ``TailOptions`` and runs
/// ``TailClient``; everything else lives in TailcastClient.
struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Follow a tailcast server from a terminal, like tail -F | grep --color.",
        discussion: """
            Prints the last 10 matching lines (-n) of every selected source, then follows. Lines \
            go to stdout (coloured, with matches highlighted, when stdout is a terminal; plain \
            when piped, with --no-color or NO_COLOR set; NDJSON with --json); dropped lines, \
            rotations and reconnects go to stderr. A lost connection is resumed with since=, so \
            no line is missed or repeated while the server still holds it.

            Without a URL, the servers in TAILCAST_URL (separated by spaces or commas), else \
            http://127.0.0.1:8080. Several URLs: one connection each, merged in arrival order, each line prefixed with \
            HOST:PORT. Patterns are PCRE2 (grep -P); several must all match. An argument that \
            starts with http://, https://, ws:// or wss:// is a server; use -e for a pattern \
            that looks like one.

            Token: prefer TAILCAST_TOKEN or --token-file to --token, which other users can see \
            in the process list. It is sent as Authorization: Bearer TOKEN.

            Exit status: 0 on Ctrl-C (SIGINT); 2 when the server refuses the query or the token \
            (its message names the parameter); 1 when a server cannot be reached for --retry \
            seconds (default 15), at start or after a lost connection.

            Examples:
              tailcast tail                           # all sources on 127.0.0.1:8080
              tailcast tail -i error --source nginx   # like grep -i error, one source
              tailcast tail -C 2 'timeout|refused' https://logs.example.com/tailcast
              tailcast tail --json --from -15m | jq -r .text
              tailcast tail http://web-1:8080 http://web-2:8080 -F 'GET /api'
            """
    )

    @Argument(
        help: ArgumentHelp(
            "Server URLs (default http://127.0.0.1:8080) and patterns, in any order.",
            valueName: "URL|PATTERN"))
    var arguments: [String] = []

    @Option(
        name: [.customShort("e"), .customLong("regexp")],
        help: ArgumentHelp("A pattern, even one that looks like a URL or starts with - (repeatable).", valueName: "PATTERN"))
    var regexp: [String] = []

    @Flag(name: .customShort("i"), help: "Ignore case (grep -i).")
    var ignoreCase = false

    @Flag(name: .customShort("v"), help: "Keep the lines that do not match (grep -v).")
    var invert = false

    @Flag(name: .customShort("w"), help: "Match whole words only (grep -w).")
    var wordMatch = false

    @Flag(name: .customShort("F"), help: "Patterns are literal strings (grep -F).")
    var fixedStrings = false

    @Option(name: .customShort("A"), help: ArgumentHelp("Also print N lines after each match.", valueName: "N"))
    var after: Int?

    @Option(name: .customShort("B"), help: ArgumentHelp("Also print N lines before each match.", valueName: "N"))
    var before: Int?

    @Option(name: .customShort("C"), help: ArgumentHelp("Also print N lines around each match.", valueName: "N"))
    var context: Int?

    @Option(
        name: .customShort("n"),
        help: ArgumentHelp(
            "First print the last N matching lines of each source (default 10; 0 for none; none with --from).", valueName: "N"))
    var lines: Int?

    @Option(name: .customLong("not"), help: ArgumentHelp("Drop lines matching P (repeatable; like | grep -v P).", valueName: "P"))
    var excludes: [String] = []

    @Option(name: .customLong("source"), help: ArgumentHelp("Only this source (repeatable; default: all).", valueName: "S"))
    var sources: [String] = []

    @Option(name: .customLong("from"), help: ArgumentHelp("Start at TIME: RFC 3339 or -30s, -15m, -2h, -1d.", valueName: "TIME"))
    var from: String?

    @Flag(name: .customLong("json"), help: "Print NDJSON: one line object per line, as the server sends it.")
    var json = false

    @Flag(name: .customLong("no-color"), help: "No colours even on a terminal (NO_COLOR does the same).")
    var noColor = false

    @Option(
        name: .customLong("token"),
        help: ArgumentHelp("Bearer token (visible in the process list: prefer TAILCAST_TOKEN or --token-file).", valueName: "T"))
    var token: String?

    @Option(name: .customLong("token-file"), help: ArgumentHelp("Read the bearer token from file F.", valueName: "F"))
    var tokenFile: String?

    @Option(
        name: .customLong("retry"),
        help: ArgumentHelp(
            "Seconds to keep trying to reach a server, at start and after a lost connection, before exiting 1.", valueName: "SECONDS"))
    var retry = 15

    func validate() throws {
        for argument in arguments where ServerAddress.isURL(argument) {
            if case .failure(let e) = ServerAddress.parse(argument) { throw ValidationError(e.message) }
        }
        guard (0...86_400).contains(retry) else { throw ValidationError("--retry takes 0 to 86400 seconds; got \(retry)") }
        if token != nil && tokenFile != nil { throw ValidationError("give --token or --token-file, not both") }
    }

    func run() async throws {
        var options = TailOptions()
        let environment = ProcessInfo.processInfo.environment
        var urls = arguments.filter(ServerAddress.isURL)
        if urls.isEmpty, let fromEnvironment = environment["TAILCAST_URL"] {
            urls = fromEnvironment.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        }
        var servers: [ServerAddress] = []
        for url in urls {
            switch ServerAddress.parse(url) {
            case .success(let address): servers.append(address)
            case .failure(let e):
                // Arguments were checked in validate(): this one came from TAILCAST_URL.
                printError("tailcast tail: TAILCAST_URL: \(e.message)")
                throw ExitCode(2)
            }
        }
        if !servers.isEmpty { options.servers = servers }
        options.patterns = arguments.filter { !ServerAddress.isURL($0) } + regexp
        options.excludes = excludes
        options.literal = fixedStrings
        options.ignoreCase = ignoreCase
        options.invert = invert
        options.wordMatch = wordMatch
        options.after = after
        options.before = before
        options.context = context
        options.backlog = lines
        options.sources = sources
        options.from = from
        options.json = json
        options.color =
            !json && !noColor && (environment["NO_COLOR"] ?? "").isEmpty && environment["TERM"] != "dumb"
            && TerminalOutput.stdoutIsTerminal
        options.token = try resolvedToken(environment)
        options.retryFor = .seconds(retry)

        InterruptExit.install()
        let code = await TailClient(options: options).run()
        if code != 0 { throw ExitCode(code) }
    }

    /// --token, else --token-file, else TAILCAST_TOKEN.
    private func resolvedToken(_ environment: [String: String]) throws -> String? {
        if let token { return token }
        if let tokenFile {
            // A token is short: read at most 4 KiB, so a wrong path (/dev/zero) cannot hang us.
            guard let handle = FileHandle(forReadingAtPath: tokenFile),
                let data = try? handle.read(upToCount: 4097)
            else {
                printError("tailcast tail: --token-file \(tokenFile) cannot be read (missing, or permissions?)")
                throw ExitCode(2)
            }
            try? handle.close()
            guard data.count <= 4096, let text = String(data: data, encoding: .utf8) else {
                printError("tailcast tail: --token-file \(tokenFile) must hold one token of at most 4096 bytes (UTF-8)")
                throw ExitCode(2)
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, !trimmed.contains("\n") else {
                printError("tailcast tail: --token-file \(tokenFile) must hold one token on one line")
                throw ExitCode(2)
            }
            return trimmed
        }
        if let env = environment["TAILCAST_TOKEN"], !env.isEmpty { return env }
        return nil
    }
}

/// Ctrl-C ends `tailcast tail` with exit status 0, as it ends a `tail -F` the user is done with.
enum InterruptExit {
    nonisolated(unsafe) private static var source: (any DispatchSourceSignal)?

    /// Called once, from the command's task, before any connection starts (so `source` is
    /// written once and only kept alive afterwards: no concurrent access).
    static func install() {
        signal(SIGINT, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        s.setEventHandler { _exit(0) }
        s.resume()
        source = s
    }
}
