import CNATS

/// A failure reported by the NATS client library, with the library's own text.
public struct BusError: Error, Sendable, CustomStringConvertible {
    /// The library's status code.
    public let status: Int
    /// JetStream's error code when the server gave one (0 otherwise).
    public let jetStreamCode: Int
    public let description: String

    init(_ status: natsStatus, _ what: String, jetStreamCode: jsErrCode = jsErrCode(rawValue: 0)) {
        self.status = Int(status.rawValue)
        self.jetStreamCode = Int(jetStreamCode.rawValue)
        let text = String(cString: natsStatus_GetText(status))
        var last = NATS_OK
        let detail = nats_GetLastError(&last).map { String(cString: $0) } ?? ""
        let extra = detail.isEmpty || detail == text ? "" : " (\(detail))"
        let js = jetStreamCode.rawValue == 0 ? "" : " [JetStream \(jetStreamCode.rawValue)]"
        self.description = "\(what): \(text)\(extra)\(js)"
    }

    init(message: String) {
        status = -1
        jetStreamCode = 0
        description = message
    }

    /// `true` when the library reports something was not found (a stream, a message).
    public var isNotFound: Bool { status == Int(NATS_NOT_FOUND.rawValue) }
}

/// Throws a ``BusError`` unless `status` is `NATS_OK`.
@inline(__always)
func busCheck(_ status: natsStatus, _ what: @autoclosure () -> String) throws(BusError) {
    if status != NATS_OK { throw BusError(status, what()) }
}
