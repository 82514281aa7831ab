/// A source name or a `*` glob over names, as `source=` and token grants take them:
/// `web-1/nginx`, `web-*/nginx`, `*/syslog`, `db-1/*`, `app*`.
///
/// Promises: `*` matches any run of characters except `/` (so `*` alone matches a single
/// node's names, and `*/app` every host's `app`); matching is linear in the name's length
/// times the pattern's stars, with no backtracking blow-up.
public enum SourcePattern {
    /// Whether `pattern` holds a `*`.
    public static func isGlob(_ pattern: String) -> Bool { pattern.utf8.contains(0x2A) }

    /// A name or a glob: 1 to 129 bytes, `/`-separated parts of `A-Z a-z 0-9 _ . - *`, at most
    /// one `/`, each part non-empty.
    public static func isValid(_ pattern: String) -> Bool {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), pattern.utf8.count <= 129 else { return false }
        return parts.allSatisfy { p in
            (1...64).contains(p.utf8.count)
                && p.utf8.allSatisfy { c in
                    (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c)
                        || c == 0x5F || c == 0x2E || c == 0x2D || c == 0x2A
                }
        }
    }

    /// Whether `name` matches `pattern` (an exact name matches itself only).
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        guard isGlob(pattern) else { return pattern == name }
        let p = Array(pattern.utf8)
        let n = Array(name.utf8)
        var pi = 0
        var ni = 0
        var star = -1
        var mark = 0
        while ni < n.count {
            if pi < p.count, p[pi] != 0x2A, p[pi] == n[ni] {
                pi += 1
                ni += 1
            } else if pi < p.count, p[pi] == 0x2A {
                star = pi
                mark = ni
                pi += 1
            } else if star >= 0, n[mark] != 0x2F {
                // The last star takes one more character (never a `/`).
                mark += 1
                ni = mark
                pi = star + 1
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == 0x2A { pi += 1 }
        return pi == p.count
    }
}
