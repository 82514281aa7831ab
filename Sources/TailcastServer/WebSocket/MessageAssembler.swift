import NIOCore
import NIOWebSocket

/// Turns a client's frames into messages and decisions, RFC 6455 section 5 as a pure state
/// machine: no I/O, one frame in, one action out.
///
/// Promises: a data message (all its frames) is at most `maxMessageBytes` (else
/// ``Action/fail(_:)`` with 1009); frames must be masked; reserved bits are refused except
/// RSV1 on a message's first frame when permessage-deflate was agreed; a continuation without a
/// message, or a new message inside one, is a protocol error (1002); control frames are whole
/// and at most 125 bytes; unknown opcodes are refused. Holds at most one message's bytes.
struct MessageAssembler {
    /// What the connection does with a frame.
    enum Action: Equatable {
        /// Nothing yet (a fragment was kept).
        case none
        /// A whole data message: `text` or `binary`, its payload, and whether it is compressed.
        case message(text: Bool, payload: ByteBuffer, compressed: Bool)
        case ping(ByteBuffer)
        case pong(ByteBuffer)
        /// The client's close frame (its payload: code and reason).
        case close(ByteBuffer)
        /// The client broke the protocol: close with this code.
        case fail(WebSocketErrorCode)
    }

    let maxMessageBytes: Int
    let compressionAgreed: Bool

    private var inMessage = false
    private var isText = false
    private var compressed = false
    private var parts = ByteBuffer()

    init(maxMessageBytes: Int, compressionAgreed: Bool) {
        self.maxMessageBytes = maxMessageBytes
        self.compressionAgreed = compressionAgreed
    }

    mutating func receive(_ frame: WebSocketFrame) -> Action {
        guard frame.maskKey != nil else { return .fail(.protocolError) }
        guard !frame.rsv2, !frame.rsv3 else { return .fail(.protocolError) }
        switch frame.opcode {
        case .ping, .pong, .connectionClose:
            guard frame.fin, !frame.rsv1, frame.length <= 125 else { return .fail(.protocolError) }
            let data = frame.unmaskedData
            switch frame.opcode {
            case .ping: return .ping(data)
            case .pong: return .pong(data)
            default: return .close(data)
            }
        case .text, .binary:
            guard !inMessage else { return .fail(.protocolError) }
            guard !frame.rsv1 || compressionAgreed else { return .fail(.protocolError) }
            guard frame.length <= maxMessageBytes else { return .fail(.messageTooLarge) }
            let data = frame.unmaskedData
            if frame.fin {
                return .message(text: frame.opcode == .text, payload: data, compressed: frame.rsv1)
            }
            inMessage = true
            isText = frame.opcode == .text
            compressed = frame.rsv1
            parts = data
            return .none
        case .continuation:
            guard inMessage else { return .fail(.protocolError) }
            guard !frame.rsv1 else { return .fail(.protocolError) }
            guard parts.readableBytes + frame.length <= maxMessageBytes else {
                parts = ByteBuffer()
                return .fail(.messageTooLarge)
            }
            var data = frame.unmaskedData
            parts.writeBuffer(&data)
            guard frame.fin else { return .none }
            inMessage = false
            let payload = parts
            parts = ByteBuffer()
            return .message(text: isText, payload: payload, compressed: compressed)
        default:
            return .fail(.protocolError)
        }
    }
}
