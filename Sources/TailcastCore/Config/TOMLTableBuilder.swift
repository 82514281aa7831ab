/// One table while a document is being parsed: the keys it holds so far and how it was made,
/// which decides what may still add to it (TOML 1.0, "Table"):
/// - a `[header]` table may be given sub-tables by later headers but never be defined again;
/// - a table made only as the prefix of a header (`a` of `[a.b]`) may be defined once later,
///   by a header or by dotted keys;
/// - a table made by dotted keys (`a.b = 1`) takes more dotted keys but no `[a]` header;
/// - an inline table is a finished value and takes nothing more.
///
/// A class because headers, dotted keys and arrays of tables reach into tables made earlier;
/// it lives only inside one ``TOMLParser`` run and is turned into a ``TOMLTable`` at the end.
final class TOMLTableBuilder {
    enum Origin {
        /// Defined by a `[header]` or `[[header]]`, or the root, or an inline table.
        case header
        /// Made as a prefix of a header; not defined yet.
        case implicit
        /// Made by dotted keys.
        case dotted
    }

    enum Slot {
        case table(TOMLTableBuilder)
        /// An array of tables (`[[name]]`), with the line of its first header.
        case tables([TOMLTableBuilder], line: Int)
        /// Any other value, inline tables and static arrays included: none can be extended.
        case value(TOMLValue, line: Int)

        /// The line the key first appeared on.
        var line: Int {
            switch self {
            case .table(let t): t.line
            case .tables(_, let line), .value(_, let line): line
            }
        }
    }

    var line: Int
    var origin: Origin
    private var keys: [String] = []
    private var slots: [String: Slot] = [:]

    init(line: Int, origin: Origin) {
        self.line = line
        self.origin = origin
    }

    subscript(key: String) -> Slot? {
        get { slots[key] }
        set {
            if slots[key] == nil, newValue != nil { keys.append(key) }
            slots[key] = newValue
        }
    }

    /// The finished table, entries in the order their keys first appeared.
    func build() -> TOMLTable {
        TOMLTable(
            line: line,
            entries: keys.map { key in
                switch slots[key]! {
                case .table(let t):
                    return TOMLEntry(key: key, value: .table(t.build()), line: t.line)
                case .tables(let ts, let line):
                    let array = TOMLArray(items: ts.map { .table($0.build()) }, lines: ts.map(\.line))
                    return TOMLEntry(key: key, value: .array(array), line: line)
                case .value(let v, let line):
                    return TOMLEntry(key: key, value: v, line: line)
                }
            })
    }
}
