/// The `/ws` query string for a ``TailOptions``: the one place that maps options to parameters.
///
/// Promises: every pattern and name is percent-encoded (only `A-Z a-z 0-9 - . _ ~` stay as they
/// are), flags are sent as `NAME=1`, the token is never put in the URL (it goes in a header),
/// and `since` lists resume points as `SRC:SEQ:EPOCH` separated by commas.
public struct TailQuery: Sendable, Equatable {
    public let options: TailOptions

    public init(_ options: TailOptions) { self.options = options }

    /// The parameters in the order they are sent.
    public func parameters(since: [ResumePoint] = []) -> [(String, String)] {
        var p: [(String, String)] = []
        for s in options.sources { p.append(("source", s)) }
        for q in options.patterns { p.append(("q", q)) }
        for n in options.excludes { p.append(("not", n)) }
        if options.literal { p.append(("F", "1")) }
        if options.ignoreCase { p.append(("i", "1")) }
        if options.invert { p.append(("v", "1")) }
        if options.wordMatch { p.append(("w", "1")) }
        if let a = options.after { p.append(("A", String(a))) }
        if let b = options.before { p.append(("B", String(b))) }
        if let c = options.context { p.append(("C", String(c))) }
        if let n = options.backlog {
            p.append(("n", String(n)))
        } else if options.from == nil {
            p.append(("n", String(TailOptions.defaultBacklog)))
        }
        if let from = options.from { p.append(("from", from)) }
        if !since.isEmpty { p.append(("since", since.map(\.text).joined(separator: ","))) }
        return p
    }

    /// The encoded query string (without `?`).
    public func queryString(since: [ResumePoint] = []) -> String {
        parameters(since: since).map { Self.encode($0.0) + "=" + Self.encode($0.1) }.joined(separator: "&")
    }

    /// Percent-encodes every byte outside the URL's unreserved set.
    public static func encode(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b & 0xF)]))
            }
        }
        return out
    }

    public static func == (a: TailQuery, b: TailQuery) -> Bool { a.options == b.options }
}

/// One source's resume position: every line after `seq` of `epoch`.
public struct ResumePoint: Sendable, Equatable {
    public let source: String
    public let seq: UInt64
    public let epoch: String

    public init(source: String, seq: UInt64, epoch: String) {
        self.source = source
        self.seq = seq
        self.epoch = epoch
    }

    /// `SRC:SEQ:EPOCH`.
    public var text: String { "\(source):\(seq):\(epoch)" }
}
