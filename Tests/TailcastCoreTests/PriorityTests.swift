import Testing

@testable import TailcastCore

@Suite struct PriorityTests {
    @Test func readsNumbersNamesAndAliases() {
        #expect((0...7).map { Priority("\($0)")?.rawValue } == Array(0...7))
        #expect(Priority.names.map { Priority($0)?.rawValue } == Array(0...7))
        #expect(Priority("panic")?.name == "emerg")
        #expect(Priority("error")?.name == "err")
        #expect(Priority("warn")?.name == "warning")
        #expect(Priority("WARNING")?.rawValue == 4)
        #expect(Priority("Crit")?.rawValue == 2)
        #expect(Priority(rawValue: 6)?.description == "info")
        #expect(Priority("emerg")! < Priority("debug")!)
    }

    @Test func refusesEverythingElse() {
        for bad in ["8", "-1", "07", "+3", " 3", "warnings", "", "fatal", "3.0"] {
            #expect(Priority(bad) == nil, "accepted \(bad)")
        }
        #expect(Priority(rawValue: 8) == nil)
        #expect(Priority(rawValue: -1) == nil)
    }

    /// The config and queries read the same names: `warn` and `error` in both.
    @Test func configAndQueriesAgree() throws {
        for (name, n) in [("warn", 4), ("error", 3), ("panic", 0), ("notice", 5), ("7", 7)] {
            let c = try ConfigParser.parse("[[source]]\nname = \"j\"\nkind = \"journald\"\npriority = \"\(name)\"\n")
            #expect(c.sources.first?.journal?.priority == n)
            let q = try QueryParser().parse(parameters: [("priority", name)])
            #expect(q.priority == n)
        }
        #expect(
            try ConfigParser.parse("[[source]]\nname = \"j\"\nkind = \"journald\"\npriority = 2\n").sources.first?.journal?.priority == 2)
        do {
            _ = try ConfigParser.parse("[[source]]\nname = \"j\"\nkind = \"journald\"\npriority = \"loud\"\n")
            Issue.record("accepted priority = \"loud\"")
        } catch {
            #expect(error.errors.map(\.line) == [4])
            #expect(error.errors.first?.message == "priority takes \(Priority.accepted)")
        }
        #expect(throws: QueryError.self) { try QueryParser().parse(parameters: [("priority", "8")]) }
    }
}
