/// Whether a source is delivering lines, as `/readyz` and `/api/sources` report it.
public enum SourceState: Sendable, Equatable {
    /// Reading its input.
    case following
    /// Its path (or journal) is not there, yet or any more; the message says what is missing.
    case waiting(String)
    /// A read failed; the message says why (with errno text). Retried on its own.
    case error(String)

    /// `following`, `waiting` or `error`.
    public var name: String {
        switch self {
        case .following: "following"
        case .waiting: "waiting"
        case .error: "error"
        }
    }

    /// The explanation for a state other than `following`.
    public var message: String? {
        switch self {
        case .following: nil
        case .waiting(let m), .error(let m): m
        }
    }
}
