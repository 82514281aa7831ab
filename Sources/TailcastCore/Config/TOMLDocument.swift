/// A parsed TOML 1.0 document (https://toml.io/en/v1.0.0).
///
/// Promises: accepts every valid TOML 1.0 document and refuses every invalid one (redefined
/// keys and tables, extended inline tables, bad escapes, leading zeros, control characters...);
/// every key, table and array item keeps the line it is on, so that a config error can name
/// its `FILE:LINE`; every syntax error names its line, and parsing goes on at the next line
/// so that all problems are reported at once. Written by hand (rather than a C++ library) for
/// those line numbers.
public struct TOMLDocument: Sendable {
    /// The top-level table (line 0); `[table]` headers, dotted keys and `[[arrays]]` are inside it.
    public var root: TOMLTable

    public init(root: TOMLTable) { self.root = root }

    /// The document and every error in it, in file order. With errors, `root` holds what could
    /// be read.
    public static func parse(_ text: String) -> (TOMLDocument, [ConfigError]) {
        var parser = TOMLParser(text)
        let (root, errors) = parser.parse()
        return (TOMLDocument(root: root), errors)
    }
}
