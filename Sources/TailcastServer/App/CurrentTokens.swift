import Synchronization
import TailcastCore

/// The token table in force: read by every check (``TokenMiddleware``, `/ws`), replaced as a
/// whole when SIGHUP reloads the tokens file.
///
/// Promises: a check sees either the old table or the new one, never a mix; ``replace(with:)``
/// never blocks a reader for longer than a pointer copy.
public final class CurrentTokens: Sendable {
    private let table: Mutex<TokenTable>

    public init(_ table: TokenTable) {
        self.table = Mutex(table)
    }

    /// The table now.
    public var snapshot: TokenTable { table.withLock { $0 } }

    /// The grant of `token` in the table now, or `nil` when it is not valid.
    public func authorize(_ token: String) -> TokenTable.Grant? {
        snapshot.authorize(token)
    }

    /// The grant of a remembered token in the table now, or `nil` when it was revoked.
    public func grant(for credential: TokenTable.Credential) -> TokenTable.Grant? {
        snapshot.grant(for: credential)
    }

    /// Puts `new` in force for every check from now on.
    func replace(with new: TokenTable) {
        table.withLock { $0 = new }
    }
}
