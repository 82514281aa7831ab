import Foundation
import Hummingbird
import TailcastCore

/// `/metrics` in the Prometheus text format. A token limited to some sources sees only their
/// per-source series (and every series without a `source` label).
enum MetricsRoute {
    /// - Parameter router: the `metrics` group (which carries the token check when configured).
    static func add(to router: RouterGroup<TailcastRequestContext>, runtime: ServerRuntime) {
        router.get("") { _, context in
            if let rss = ResidentMemory.bytes() { runtime.metrics.residentBytes.record(rss) }
            var bytes: [UInt8] = []
            runtime.registry.emit(into: &bytes)
            if case .sources = context.grant {
                let readable = Set(runtime.sources.map(\.name).filter { context.grant.allows($0) })
                bytes = MetricsFilter.keeping(sources: readable, in: bytes)
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}

/// Drops the series of sources a grant does not cover from a Prometheus text exposition.
enum MetricsFilter {
    private static let label = Array(#"source=""#.utf8)

    /// The lines of `text` whose `source` label is absent or in `sources`.
    static func keeping(sources: Set<String>, in text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        for line in text.split(separator: 0x0A, omittingEmptySubsequences: false) {
            if let name = sourceLabel(line), !sources.contains(name) { continue }
            out.append(contentsOf: line)
            out.append(0x0A)
        }
        if out.last == 0x0A, text.last != 0x0A { out.removeLast() }
        return out
    }

    /// The value of the `source` label of a series line, if it has one.
    static func sourceLabel(_ line: ArraySlice<UInt8>) -> String? {
        guard line.first != 0x23, let open = line.firstIndex(of: 0x7B) else { return nil }  // '#', '{'
        var i = open + 1
        while i + label.count <= line.endIndex {
            if line[i..<(i + label.count)].elementsEqual(label), i == open + 1 || line[i - 1] == 0x2C {
                let start = i + label.count
                guard let end = line[start...].firstIndex(of: 0x22) else { return nil }
                return String(decoding: line[start..<end], as: UTF8.self)
            }
            i += 1
        }
        return nil
    }
}

/// The process's resident set size, from `/proc/self/statm` (pages × page size).
enum ResidentMemory {
    static func bytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
