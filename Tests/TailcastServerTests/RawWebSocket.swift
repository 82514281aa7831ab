import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A bare WebSocket client over a blocking socket on a thread of its own: sends the upgrade
/// request, then reads the server's frames until a close frame, the end of the stream, or 10 s.
///
/// For the connections the server refuses right after the upgrade (an `error` envelope, then a
/// close frame): those bytes can arrive in the same read as the `101` response, and
/// swift-websocket's client then sometimes never delivers them and waits forever. A browser,
/// and this reader, take them as they come.
enum RawWebSocket {
    struct Outcome: Sendable {
        /// The response's status line.
        var status = ""
        /// The text frames, in order.
        var texts: [String] = []
        /// The close frame's code, when one came.
        var closeCode: UInt16?

        /// The text frames as JSON objects.
        var envelopes: [[String: Any]] {
            texts.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        }
    }

    static func open(port: Int, path: String, headers: [String: String] = [:]) async -> Outcome {
        await withCheckedContinuation { (c: CheckedContinuation<Outcome, Never>) in
            let thread = Thread { c.resume(returning: exchange(port: port, path: path, headers: headers)) }
            thread.start()
        }
    }

    private static func exchange(port: Int, path: String, headers: [String: String]) -> Outcome {
        var outcome = Outcome()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return outcome }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return outcome }
        var request =
            "GET \(path) HTTP/1.1\r\nHost: localhost:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        guard send(fd, bytes, bytes.count, 0) == bytes.count else { return outcome }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var headEnd: Int?
        var position = 0
        while outcome.closeCode == nil {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            buffer += chunk[0..<n]
            if headEnd == nil, let end = find(buffer, Array("\r\n\r\n".utf8)) {
                headEnd = end
                let head = String(decoding: buffer[0..<end], as: UTF8.self)
                outcome.status = String(head.prefix { $0 != "\r" })
                position = end + 4
            }
            guard headEnd != nil else { continue }
            // Unmasked server frames: opcode, length (7 bits, or 16/64 bits), payload.
            while buffer.count - position >= 2 {
                let opcode = buffer[position] & 0x0F
                var length = Int(buffer[position + 1] & 0x7F)
                var start = position + 2
                if length == 126 {
                    guard buffer.count - position >= 4 else { break }
                    length = Int(buffer[position + 2]) << 8 | Int(buffer[position + 3])
                    start = position + 4
                } else if length == 127 {
                    guard buffer.count - position >= 10 else { break }
                    length = (0..<8).reduce(0) { $0 << 8 | Int(buffer[position + 2 + $1]) }
                    start = position + 10
                }
                guard buffer.count >= start + length else { break }
                let payload = Array(buffer[start..<(start + length)])
                position = start + length
                if opcode == 0x1 { outcome.texts.append(String(decoding: payload, as: UTF8.self)) }
                if opcode == 0x8 {
                    outcome.closeCode = payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : 1005
                    break
                }
            }
        }
        return outcome
    }

    private static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i..<(i + needle.count)].elementsEqual(needle) {
            return i
        }
        return nil
    }
}
