import Foundation
import Testing

@testable import TailcastCore

/// TOMLDocument against Python's tomllib, a TOML 1.0 parser: 800 generated documents, half
/// valid and half not, with what tomllib makes of them (Tests/Fixtures/toml/differential.json,
/// written by make_differential.py there). Each valid one must parse to the same values, each
/// invalid one must be refused with an error on a line of the document.
@Suite struct TOMLDifferentialTests {
    static let fixture = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/toml/differential.json")

    @Test func agreesWithTomllib() throws {
        let text = try String(contentsOf: Self.fixture, encoding: .utf8)
        guard case .array(let cases) = try JSONValue.parse(text) else {
            Issue.record("\(Self.fixture.path) is not a JSON array")
            return
        }
        #expect(cases.count == 800)
        var valid = 0
        for c in cases {
            guard case .object(let fields) = c, case .string(let toml)? = fields.first(where: { $0.0 == "toml" })?.1,
                let expect = fields.first(where: { $0.0 == "expect" })?.1
            else {
                Issue.record("malformed case \(c)")
                continue
            }
            let (doc, errors) = TOMLDocument.parse(toml)
            if expect == .null {
                #expect(!errors.isEmpty, "accepted, but tomllib refuses: \(JSONString.quoted(toml))")
                let lines = toml.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).count
                #expect(errors.allSatisfy { (1...lines).contains($0.line) }, "an error off the document's lines: \(errors)")
            } else {
                valid += 1
                #expect(
                    errors.isEmpty,
                    "refused (\(errors.first.map { "\($0.line): \($0.message)" } ?? "")), but tomllib reads: \(JSONString.quoted(toml))")
                #expect(Self.same(Self.tagged(.table(doc.root)), expect), "differs from tomllib: \(JSONString.quoted(toml))")
            }
        }
        #expect(valid == 400)
    }

    /// toml-test's tagged form, as make_differential.py writes it.
    static func tagged(_ v: TOMLValue) -> JSONValue {
        func leaf(_ type: String, _ value: String) -> JSONValue { .object([("type", .string(type)), ("value", .string(value))]) }
        switch v {
        case .string(let s): return leaf("string", s)
        case .integer(let n): return leaf("integer", String(n))
        case .float(let d): return leaf("float", d.isNaN ? "nan" : "\(d)")
        case .bool(let b): return leaf("bool", b ? "true" : "false")
        case .dateTime(let t): return leaf("datetime", t.description)
        case .array(let a): return .array(a.items.map(tagged))
        case .table(let t): return .object(t.entries.map { ($0.key, tagged($0.value)) })
        }
    }

    /// Equal JSON, objects compared as sets of keys, float values compared as numbers.
    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)):
            if x.count == 2, y.count == 2, x.contains(where: { $0.0 == "type" && $0.1 == .string("float") }),
                case .string(let u)? = x.first(where: { $0.0 == "value" })?.1,
                case .string(let w)? = y.first(where: { $0.0 == "value" })?.1,
                y.contains(where: { $0.0 == "type" && $0.1 == .string("float") })
            {
                guard let p = Double(u), let q = Double(w) else { return false }
                return (p.isNaN && q.isNaN) || (p == q && p.sign == q.sign)
            }
            let yd = Dictionary(y, uniquingKeysWith: { first, _ in first })
            return x.count == yd.count && x.allSatisfy { k, v in yd[k].map { same(v, $0) } ?? false }
        default:
            return a == b
        }
    }
}
