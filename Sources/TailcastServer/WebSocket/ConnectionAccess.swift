import TailcastCore

/// What a connection was let in with (its token, remembered as a digest) and what it reads
/// now: checked again every time the tokens file is reloaded.
struct ConnectionAccess: Sendable, Equatable {
    let credential: TokenTable.Credential
    /// The sources the connection reads now.
    var sources: [String]

    /// Whether `table` still lets the connection go on.
    enum Verdict: Equatable {
        case allowed
        /// The token is no longer in the table.
        case tokenRevoked
        /// The token is still valid but may no longer read this source, which the connection reads.
        case sourceWithdrawn(String)

        /// The message of the `unauthorized` error a connection gets before it is closed
        /// (empty when it is allowed).
        var message: String {
            switch self {
            case .allowed: ""
            case .tokenRevoked: "this token was revoked: the tokens file no longer lists it"
            case .sourceWithdrawn(let name): "this token may no longer read \(JSONString.quoted(name)): the tokens file changed"
            }
        }
    }

    /// The verdict of `table` on this connection; pure.
    func check(against table: TokenTable) -> Verdict {
        guard let grant = table.grant(for: credential) else { return .tokenRevoked }
        if let withdrawn = sources.first(where: { !grant.allows($0) }) { return .sourceWithdrawn(withdrawn) }
        return .allowed
    }
}
