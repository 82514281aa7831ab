/// One line object of a `lines` envelope.
public struct LineRecord: Sendable, Equatable, Decodable {
    public var source: String
    public var seq: UInt64
    public var ts: String?
    public var text: String
    /// `[start, end)` spans in UTF-16 code units, sorted and merged by the server.
    public var matches: [[Int]]?
    public var context: Bool?
    public var file: String?
    public var truncated: Bool?
    /// The object's JSON text as the server sent it (empty when built in code).
    public var raw: ArraySlice<UInt8> = []

    enum CodingKeys: String, CodingKey {
        case source, seq, ts, text, matches, context, file, truncated
    }

    public init(source: String, seq: UInt64, text: String, matches: [[Int]]? = nil, context: Bool? = nil) {
        self.source = source
        self.seq = seq
        self.text = text
        self.matches = matches
        self.context = context
    }

    public var isContext: Bool { context == true }
}
