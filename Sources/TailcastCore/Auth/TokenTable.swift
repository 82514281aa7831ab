import Crypto
import Foundation

/// The bearer tokens that may read logs, from a tokens file: one token per line, as the token
/// itself or `sha256:HEX` of it, optionally followed by the sources it may read
/// (`TOKEN app,web`; on a bus `HOST/NAME` names and `*` globs: `TOKEN web-*/nginx,db-1/*`);
/// `#` starts a comment.
///
/// Promises: tokens are kept only as SHA-256 digests; ``authorize(_:)`` compares the digest of
/// the presented token with every entry in constant time, so the time taken does not depend
/// on how much of a token matched.
public struct TokenTable: Sendable {
    /// What a valid token may read.
    public enum Grant: Sendable, Equatable {
        case allSources
        case sources([String])

        /// Whether this grant may read the source called `name` (a grant's names may be `*`
        /// globs, see ``SourcePattern``: `web-1/*` reads every source of host web-1 on a bus).
        public func allows(_ name: String) -> Bool {
            switch self {
            case .allSources: true
            case .sources(let patterns): patterns.contains { SourcePattern.matches($0, name) }
            }
        }
    }

    /// A presented token as the server remembers it for the life of a connection: its SHA-256
    /// digest only (the token itself is never kept), enough to check it again after a reload.
    public struct Credential: Sendable, Equatable {
        let digest: [UInt8]

        public init(token: String) {
            self.digest = TokenTable.sha256(token.utf8)
        }
    }

    struct Entry: Sendable {
        let digest: [UInt8]
        let grant: Grant
    }

    private let entries: [Entry]

    /// Number of tokens.
    public var count: Int { entries.count }

    /// Reads and parses the tokens file at `path`; problems carry their line number, and a file
    /// that cannot be read is one error without a line.
    public static func load(path: String) throws(ConfigErrors) -> TokenTable {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigErrors([
                ConfigError(
                    line: 0, key: "tokens_file",
                    message: "cannot be read (missing, permissions, or not UTF-8?)")
            ])
        }
        return try parse(text)
    }

    /// Parses a tokens file; problems carry their line number.
    public static func parse(_ text: String) throws(ConfigErrors) -> TokenTable {
        var entries: [Entry] = []
        var errors: [ConfigError] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let first = parts.first else { continue }
            guard parts.count <= 2 else {
                errors.append(ConfigError(line: n + 1, message: "expected TOKEN [source,source…]"))
                continue
            }
            let digest: [UInt8]
            if first.hasPrefix("sha256:") {
                let hex = first.dropFirst(7)
                guard hex.count == 64, let bytes = Self.bytes(fromHex: hex) else {
                    errors.append(ConfigError(line: n + 1, message: "sha256: takes 64 hex digits"))
                    continue
                }
                digest = bytes
            } else {
                guard first.count >= 16 else {
                    errors.append(ConfigError(line: n + 1, message: "a token must be at least 16 characters (try: openssl rand -hex 32)"))
                    continue
                }
                digest = Self.sha256(first.utf8)
            }
            var grant = Grant.allSources
            if parts.count == 2 {
                let names = parts[1].split(separator: ",").map(String.init)
                if let bad = names.first(where: { !SourcePattern.isValid($0) }) {
                    errors.append(
                        ConfigError(
                            line: n + 1,
                            message: "bad source name \(bad) (a name, HOST/NAME, or a glob such as web-*/nginx)"))
                    continue
                }
                grant = .sources(names)
            }
            entries.append(Entry(digest: digest, grant: grant))
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return TokenTable(entries: entries)
    }

    private init(entries: [Entry]) {
        self.entries = entries
    }

    /// The grant of `token`, or `nil` when it is not valid. Constant time in the token's content.
    public func authorize(_ token: String) -> Grant? {
        grant(for: Credential(token: token))
    }

    /// The grant of a token remembered as `credential`, or `nil` when this table does not hold
    /// it (any more). Constant time in the token's content.
    public func grant(for credential: Credential) -> Grant? {
        let presented = credential.digest
        var found: Grant?
        for e in entries {
            var diff: UInt8 = 0
            for i in 0..<32 { diff |= e.digest[i] ^ presented[i] }
            if diff == 0, found == nil { found = e.grant }
        }
        return found
    }

    /// SHA-256 by swift-crypto (BoringSSL underneath on Linux).
    static func sha256<S: Sequence>(_ bytes: S) -> [UInt8] where S.Element == UInt8 {
        Array(Crypto.SHA256.hash(data: Array(bytes)))
    }

    private static func bytes(fromHex hex: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        var it = hex.makeIterator()
        while let a = it.next(), let b = it.next() {
            guard let hi = a.hexDigitValue, let lo = b.hexDigitValue else { return nil }
            out.append(UInt8(hi << 4 | lo))
        }
        return out
    }
}
