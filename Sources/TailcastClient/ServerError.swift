/// An `error` envelope: what the server refused and why.
public struct ServerError: Sendable, Equatable {
    public var code: String
    public var param: String?
    public var message: String

    public init(code: String, param: String?, message: String) {
        self.code = code
        self.param = param
        self.message = message
    }
}
