/// Something that happened to a source's input, as the `event` envelope reports it.
public struct SourceEvent: Sendable, Equatable {
    /// The kinds the contract names.
    public enum Kind: String, Sendable, Equatable {
        case rotated, truncated, missing, reopened, error, recovered
    }

    public var kind: Kind
    /// Human-readable detail, such as the path and what was seen.
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }
}
