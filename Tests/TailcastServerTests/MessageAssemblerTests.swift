import NIOCore
import NIOWebSocket
import Testing

@testable import TailcastServer

@Suite struct MessageAssemblerTests {
    static let key: WebSocketMaskingKey = [1, 2, 3, 4]

    /// A client frame as the decoder hands it over: masked payload, masking key kept.
    func frame(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true, rsv1: Bool = false, masked: Bool = true) -> WebSocketFrame {
        var data = ByteBuffer(string: text)
        if masked { data.webSocketMask(Self.key) }
        return WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, maskKey: masked ? Self.key : nil, data: data)
    }

    func assembler(max: Int = 16, deflate: Bool = false) -> MessageAssembler {
        MessageAssembler(maxMessageBytes: max, compressionAgreed: deflate)
    }

    @Test func aWholeTextFrameIsAMessage() {
        var a = assembler()
        #expect(a.receive(frame(.text, "hi")) == .message(text: true, payload: ByteBuffer(string: "hi"), compressed: false))
        #expect(a.receive(frame(.binary, "b")) == .message(text: false, payload: ByteBuffer(string: "b"), compressed: false))
    }

    @Test func fragmentsAreJoinedInOrder() {
        var a = assembler()
        #expect(a.receive(frame(.text, "ab", fin: false)) == MessageAssembler.Action.none)
        #expect(a.receive(frame(.ping, "p")) == .ping(ByteBuffer(string: "p")))  // control frames may come between
        #expect(a.receive(frame(.continuation, "cd", fin: false)) == MessageAssembler.Action.none)
        #expect(a.receive(frame(.continuation, "e")) == .message(text: true, payload: ByteBuffer(string: "abcde"), compressed: false))
    }

    @Test func aMessageOverTheLimitIs1009WholeOrInPieces() {
        var a = assembler(max: 4)
        #expect(a.receive(frame(.text, "12345")) == .fail(.messageTooLarge))
        var b = assembler(max: 4)
        #expect(b.receive(frame(.text, "123", fin: false)) == MessageAssembler.Action.none)
        #expect(b.receive(frame(.continuation, "45")) == .fail(.messageTooLarge))
    }

    @Test func brokenSequencesAreProtocolErrors() {
        var a = assembler()
        #expect(a.receive(frame(.continuation, "x")) == .fail(.protocolError))  // nothing to continue
        var b = assembler()
        _ = b.receive(frame(.text, "x", fin: false))
        #expect(b.receive(frame(.text, "y")) == .fail(.protocolError))  // a new message inside one
        var c = assembler()
        #expect(c.receive(frame(.text, "x", masked: false)) == .fail(.protocolError))  // clients must mask
        var d = assembler()
        #expect(d.receive(frame(.ping, "x", fin: false)) == .fail(.protocolError))  // control frames are whole
        var e = assembler()
        #expect(
            e.receive(WebSocketFrame(fin: true, opcode: WebSocketOpcode(encodedWebSocketOpcode: 3)!, maskKey: Self.key, data: ByteBuffer()))
                == .fail(.protocolError))  // a reserved opcode
    }

    @Test func rsv1OnlyWithDeflateAndOnlyOnAFirstFrame() {
        var a = assembler()
        #expect(a.receive(frame(.text, "x", rsv1: true)) == .fail(.protocolError))
        var b = assembler(deflate: true)
        #expect(b.receive(frame(.text, "x", rsv1: true)) == .message(text: true, payload: ByteBuffer(string: "x"), compressed: true))
        #expect(b.receive(frame(.text, "x", fin: false, rsv1: true)) == MessageAssembler.Action.none)
        #expect(b.receive(frame(.continuation, "y", rsv1: true)) == .fail(.protocolError))
        var c = assembler(deflate: true)
        #expect(c.receive(frame(.ping, "x", rsv1: true)) == .fail(.protocolError))
    }

    @Test func closeAndPongArePassedOn() {
        var a = assembler()
        #expect(a.receive(frame(.pong, "p")) == .pong(ByteBuffer(string: "p")))
        #expect(a.receive(frame(.connectionClose, "")) == .close(ByteBuffer()))
    }
}

@Suite struct PerMessageDeflateTests {
    @Test func aPlainOfferGetsTheServersWindow() {
        let a = PerMessageDeflate.negotiate(offers: ["permessage-deflate; client_max_window_bits"])
        #expect(a == .init(serverWindowBits: 12, serverNoContextTakeover: false, clientNoContextTakeover: false))
        #expect(a?.responseHeader == "permessage-deflate; server_max_window_bits=12")
    }

    @Test func parametersAreHonouredAndBadOffersDeclined() {
        let a = PerMessageDeflate.negotiate(offers: [
            "permessage-deflate; server_max_window_bits=20, permessage-deflate; server_max_window_bits=10; server_no_context_takeover"
        ])
        #expect(a == .init(serverWindowBits: 10, serverNoContextTakeover: true, clientNoContextTakeover: false))
        #expect(PerMessageDeflate.negotiate(offers: ["permessage-deflate; server_max_window_bits=8"]) == nil)
        #expect(PerMessageDeflate.negotiate(offers: ["permessage-deflate; mystery"]) == nil)
        #expect(PerMessageDeflate.negotiate(offers: ["permessage-deflate; client_no_context_takeover; client_no_context_takeover"]) == nil)
        #expect(PerMessageDeflate.negotiate(offers: ["x-webkit-deflate-frame"]) == nil)
        #expect(PerMessageDeflate.negotiate(offers: []) == nil)
    }

    @Test func framesRoundTripAcrossMessagesAndSmallOnesStayPlain() throws {
        let agreement = PerMessageDeflate.Agreement(serverWindowBits: 12, serverNoContextTakeover: false, clientNoContextTakeover: false)
        var server = PerMessageDeflate(agreement, maxMessageBytes: 1 << 16)
        // A peer inflating the server's frames in order, keeping its context between messages.
        var peer = PerMessageDeflate(agreement, maxMessageBytes: 1 << 16)
        var sizes: [Int] = []
        for i in 0..<3 {
            let text = String(repeating: "GET /index.html 200 1234 \"Mozilla/5.0\" \(i)\n", count: 40)
            let (out, compressed) = try server.compress(ByteBuffer(string: text))
            #expect(compressed)
            sizes.append(out.readableBytes)
            #expect(String(buffer: try peer.decompress(out)) == text)
        }
        #expect(sizes[0] < 40 * 38 / 5)
        #expect(sizes[1] < sizes[0])  // the second message refers back to the first
        let (small, compressed) = try server.compress(ByteBuffer(string: "{\"type\":\"heartbeat\"}"))
        #expect(!compressed && small.readableBytes == 20)
    }

    @Test func aClientMessageInflatingPastTheLimitIsRefused() throws {
        var sender = PerMessageDeflate(
            .init(serverWindowBits: 12, serverNoContextTakeover: true, clientNoContextTakeover: true), maxMessageBytes: 1 << 20)
        let (bomb, _) = try sender.compress(ByteBuffer(repeating: UInt8(ascii: "a"), count: 200_000))
        #expect(bomb.readableBytes < 2_000)
        var receiver = PerMessageDeflate(
            .init(serverWindowBits: 12, serverNoContextTakeover: false, clientNoContextTakeover: true), maxMessageBytes: 1 << 16)
        #expect(throws: PerMessageDeflate.TooLarge.self) { try receiver.decompress(bomb) }
        // (The connection closes with 1009 then; a new one inflates what fits.)
        var next = PerMessageDeflate(
            .init(serverWindowBits: 12, serverNoContextTakeover: false, clientNoContextTakeover: true), maxMessageBytes: 1 << 16)
        let (fine, _) = try sender.compress(ByteBuffer(string: String(repeating: "{\"type\":\"pause\"}", count: 80)))
        let back = try next.decompress(fine)
        #expect(String(buffer: back) == String(repeating: "{\"type\":\"pause\"}", count: 80))
    }
}
