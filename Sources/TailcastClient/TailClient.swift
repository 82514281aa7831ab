/// `tailcast tail`: follows one or more servers and merges their lines into one stdout stream,
/// in the order they arrive.
///
/// Promises: one connection per server; returns the first exit code a server's follower
/// chooses (2: a refused query or token; 1: a server unreachable for `retryFor`) and stops the
/// others then; runs until then (SIGINT is the caller's to handle).
public struct TailClient: Sendable {
    public let options: TailOptions
    public let output: TerminalOutput

    public init(options: TailOptions, output: TerminalOutput = TerminalOutput()) {
        self.options = options
        self.output = output
    }

    public func run() async -> Int32 {
        let several = options.servers.count > 1
        let followers = options.servers.map { ServerFollower(address: $0, options: options, output: output, several: several) }
        return await withTaskGroup(of: Int32.self) { group in
            for follower in followers {
                group.addTask { await follower.run() }
            }
            let first = await group.next() ?? 0
            group.cancelAll()
            await output.drain()
            return first
        }
    }
}
