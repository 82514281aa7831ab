/// A query the server refuses, rendered as the `error` envelope.
public struct QueryError: Error, Sendable, Equatable {
    /// The envelope's `code`: `bad_query` for a query, `bad_message` for a client message.
    public var code: String
    /// The parameter at fault (`q`, `source`, `n`, …), when there is one.
    public var param: String?
    /// What is wrong, in words a person can act on.
    public var message: String

    public init(code: String = "bad_query", param: String?, message: String) {
        self.code = code
        self.param = param
        self.message = message
    }
}
