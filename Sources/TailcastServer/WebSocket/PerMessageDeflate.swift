import CompressNIO
import Foundation
import NIOCore

/// permessage-deflate (RFC 7692) as tailcast offers it: the negotiation, and the compressor and
/// decompressor of one connection.
///
/// Promises: an offer is accepted only when every parameter is known, appears once and has a
/// valid value (otherwise the next offer is tried, and with none left the connection is not
/// compressed); the server's window is at most ``maxServerWindowBits`` (a 4 KiB window and
/// zlib memory level 4 keep a compressing connection's state near 30 KiB, where zlib's
/// defaults take about 260 KiB); zlib state is allocated on the first frame that needs it, so
/// an idle connection pays nothing for it; a client message never inflates past
/// `maxMessageBytes`.
struct PerMessageDeflate {
    /// What both sides agreed.
    struct Agreement: Equatable, Sendable {
        /// log2 of the window the server compresses with (9...15).
        var serverWindowBits: Int
        /// The server resets its compressor after each message.
        var serverNoContextTakeover: Bool
        /// The client resets its compressor after each message (so may the server's decompressor).
        var clientNoContextTakeover: Bool

        /// The `Sec-WebSocket-Extensions` value of the response.
        var responseHeader: String {
            var h = "permessage-deflate; server_max_window_bits=\(serverWindowBits)"
            if serverNoContextTakeover { h += "; server_no_context_takeover" }
            if clientNoContextTakeover { h += "; client_no_context_takeover" }
            return h
        }
    }

    static let maxServerWindowBits = 12
    static let compressionLevel: Int32 = 6
    static let memoryLevel: Int32 = 4
    /// Frames smaller than this go uncompressed: a heartbeat or a `hello` gains little, and an
    /// idle connection then never allocates zlib state (about 30 KiB).
    static let minBytesToCompress = 1024

    /// The first acceptable permessage-deflate offer among the request's
    /// `Sec-WebSocket-Extensions` values, or `nil`.
    static func negotiate(offers headerValues: [String]) -> Agreement? {
        for value in headerValues {
            for offer in value.split(separator: ",") {
                if let agreement = accept(offer: offer) { return agreement }
            }
        }
        return nil
    }

    private static func accept(offer: Substring) -> Agreement? {
        let parts = offer.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.first?.lowercased() == "permessage-deflate" else { return nil }
        var agreement = Agreement(
            serverWindowBits: maxServerWindowBits, serverNoContextTakeover: false, clientNoContextTakeover: false)
        var seen = Set<String>()
        for part in parts.dropFirst() {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            let name = kv[0].lowercased()
            let raw = kv.count > 1 ? kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) : nil
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "server_no_context_takeover":
                guard raw == nil else { return nil }
                agreement.serverNoContextTakeover = true
            case "client_no_context_takeover":
                guard raw == nil else { return nil }
                agreement.clientNoContextTakeover = true
            case "server_max_window_bits":
                // zlib cannot compress with a 256-byte window (it silently uses 512): decline 8.
                guard let raw, let bits = Int(raw), (9...15).contains(bits) else { return nil }
                agreement.serverWindowBits = min(bits, maxServerWindowBits)
            case "client_max_window_bits":
                // The server inflates with a 32 KiB window, which reads any smaller one.
                if let raw { guard let bits = Int(raw), (8...15).contains(bits) else { return nil } }
            default:
                return nil
            }
        }
        return agreement
    }

    let agreement: Agreement
    let maxMessageBytes: Int
    private var compressor: ZlibCompressor?
    private var decompressor: ZlibDecompressor?

    init(_ agreement: Agreement, maxMessageBytes: Int) {
        self.agreement = agreement
        self.maxMessageBytes = maxMessageBytes
    }

    /// The payload of a data frame to send: compressed (and `true`) when it is worth it.
    mutating func compress(_ payload: ByteBuffer) throws -> (ByteBuffer, Bool) {
        guard payload.readableBytes >= Self.minBytesToCompress else { return (payload, false) }
        if compressor == nil {
            compressor = try ZlibCompressor(
                algorithm: .deflate,
                configuration: .init(
                    windowSize: Int32(agreement.serverWindowBits), compressionLevel: Self.compressionLevel,
                    memoryLevel: Self.memoryLevel))
        }
        guard let compressor else { return (payload, false) }
        var input = payload
        var out = try input.compressStream(with: compressor, flush: .sync)
        // RFC 7692 7.2.1: a message ends without the sync flush's 00 00 ff ff.
        if out.readableBytes >= 4 { out.moveWriterIndex(to: out.writerIndex - 4) }
        if agreement.serverNoContextTakeover { try compressor.reset() }
        return (out, true)
    }

    /// The payload of a whole compressed client message, inflated; throws
    /// ``TooLarge`` past `maxMessageBytes`, anything else for corrupt data.
    mutating func decompress(_ payload: ByteBuffer) throws -> ByteBuffer {
        if decompressor == nil { decompressor = try ZlibDecompressor(algorithm: .deflate, windowSize: 15) }
        guard let decompressor else { throw TooLarge() }
        var input = payload
        input.writeBytes([0, 0, 0xff, 0xff])
        var out = ByteBuffer()
        out.reserveCapacity(min(maxMessageBytes, max(256, input.readableBytes * 4)))
        while input.readableBytes > 0 {
            let before = (input.readableBytes, out.readableBytes)
            do {
                try input.decompressStream(to: &out, with: decompressor)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                guard out.capacity < maxMessageBytes else { throw TooLarge() }
                out.reserveCapacity(min(maxMessageBytes, out.capacity * 2))
                continue
            }
            if out.readableBytes > maxMessageBytes { throw TooLarge() }
            // A stream that ended (a final block) or stopped taking input: nothing more comes of it.
            if (input.readableBytes, out.readableBytes) == before { break }
        }
        if agreement.clientNoContextTakeover { try decompressor.reset() }
        return out
    }

    /// A client message that inflates past the limit.
    struct TooLarge: Error {}
}
