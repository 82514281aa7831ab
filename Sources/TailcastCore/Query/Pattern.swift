import CLinux
import CPCRE2

#if canImport(Glibc)
import Glibc
#endif

/// One compiled pattern of a query, with its own match data: PCRE2 with JIT, or a plain byte
/// search for a case-sensitive literal without `w`.
///
/// Promises: owns its PCRE2 objects and frees each exactly once; matching never runs longer
/// than the match limit allows (a catastrophic pattern yields ``Outcome/limit``, never a
/// stall); texts must be valid UTF-8 (checked at ingest, so matching skips the check).
/// Not `Sendable`: one connection's subscription owns it.
public final class Pattern {
    /// What one search found.
    public enum Outcome: Equatable {
        case match(start: Int, end: Int)
        case none
        /// The match or depth limit was hit: treated as no match and counted.
        case limit
    }

    /// The match-limit steps one line may cost, shared by all of a query's patterns: with JIT
    /// the worst pattern (`(a+)+$`) gives up on a line after ~20 µs, while ordinary log
    /// patterns use a few dozen steps. See ``matchLimit(patterns:)``.
    public static let lineMatchBudget: UInt32 = 10_000
    /// No pattern gets fewer steps than this, however many the query has.
    public static let minimumMatchLimit: UInt32 = 1_000
    public static let depthLimit: UInt32 = 10_000

    /// Each pattern's match limit when a query has `patterns` of them: the line's budget
    /// shared, so that the worst-case cost per line grows with the number of patterns only
    /// through the small floor.
    public static func matchLimit(patterns: Int) -> UInt32 {
        max(minimumMatchLimit, lineMatchBudget / UInt32(max(1, patterns)))
    }

    private let code: OpaquePointer?
    private let matchData: OpaquePointer?
    private let matchContext: OpaquePointer?
    private let jitStack: OpaquePointer?
    /// The needle of a plain byte search (case-sensitive literal without `w`), else `nil`.
    public let literal: [UInt8]?
    /// `false` when JIT compilation was not available and the interpreter is used.
    public let usesJIT: Bool

    /// Compiles `source` with the grep flags.
    ///
    /// - Throws: ``QueryError`` naming `param`, with PCRE2's message and the offset.
    public init(
        _ source: String, literal isLiteral: Bool, ignoreCase: Bool, wordMatch: Bool,
        param: String, matchLimit: UInt32 = Pattern.lineMatchBudget
    ) throws(QueryError) {
        if isLiteral, !ignoreCase, !wordMatch {
            literal = Array(source.utf8)
            code = nil
            matchData = nil
            matchContext = nil
            jitStack = nil
            usesJIT = false
            return
        }
        literal = nil
        var text = source
        var options = UInt32(PCRE2_UTF)
        if ignoreCase { options |= UInt32(PCRE2_CASELESS) }
        if wordMatch {
            // As grep -P -w does: no word character may touch either end of the match.
            let body = isLiteral ? Self.escaped(source) : source
            text = "(?<!\\w)(?:" + body + ")(?!\\w)"
        } else if isLiteral {
            options |= UInt32(PCRE2_LITERAL)
        }
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        let compiled = text.utf8CString.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: UInt8.self) { bytes in
                pcre2_compile_8(bytes.baseAddress, bytes.count - 1, options, &errorCode, &errorOffset, nil)
            }
        }
        guard let compiled else {
            var message = [UInt8](repeating: 0, count: 256)
            _ = pcre2_get_error_message_8(errorCode, &message, message.count)
            let text = String(decoding: message.prefix { $0 != 0 }, as: UTF8.self)
            let offset = wordMatch ? max(0, errorOffset - 10) : errorOffset
            throw QueryError(param: param, message: "invalid pattern \(JSONString.quoted(source)): \(text) at offset \(offset)")
        }
        code = compiled
        usesJIT = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0
        matchData = pcre2_match_data_create_from_pattern_8(compiled, nil)
        let context = pcre2_match_context_create_8(nil)
        pcre2_set_match_limit_8(context, matchLimit)
        pcre2_set_depth_limit_8(context, Self.depthLimit)
        pcre2_set_heap_limit_8(context, 20_000)
        if usesJIT {
            jitStack = pcre2_jit_stack_create_8(32 << 10, 1 << 20, nil)
            pcre2_jit_stack_assign_8(context, nil, UnsafeMutableRawPointer(jitStack))
        } else {
            jitStack = nil
        }
        matchContext = context
    }

    deinit {
        if let jitStack { pcre2_jit_stack_free_8(jitStack) }
        if let matchContext { pcre2_match_context_free_8(matchContext) }
        if let matchData { pcre2_match_data_free_8(matchData) }
        if let code { pcre2_code_free_8(code) }
    }

    /// Finds the first match in `text` at or after byte `from`. `nonEmpty` skips empty matches.
    @inline(__always)
    public func search(_ text: UnsafeRawBufferPointer, from: Int = 0, nonEmpty: Bool = false) -> Outcome {
        if let literal {
            return literal.withUnsafeBytes { needle -> Outcome in
                if needle.isEmpty {
                    if nonEmpty { return .none }
                    return .match(start: from, end: from)
                }
                guard from <= text.count, let base = text.baseAddress,
                    let hit = tailcast_memmem(base + from, text.count - from, needle.baseAddress, needle.count)
                else {
                    return .none
                }
                let start = UnsafeRawPointer(hit) - base
                return .match(start: start, end: start + needle.count)
            }
        }
        var options = UInt32(PCRE2_NO_UTF_CHECK)
        if nonEmpty { options |= UInt32(PCRE2_NOTEMPTY) }
        let rc: Int32
        if let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            rc = pcre2_match_8(code, base, text.count, from, options, matchData, matchContext)
        } else {
            var empty: UInt8 = 0
            rc = pcre2_match_8(code, &empty, 0, 0, options, matchData, matchContext)
        }
        if rc >= 0 {
            let ovector = pcre2_get_ovector_pointer_8(matchData)!
            return .match(start: ovector[0], end: ovector[1])
        }
        switch rc {
        case PCRE2_ERROR_NOMATCH: return .none
        case PCRE2_ERROR_MATCHLIMIT, PCRE2_ERROR_DEPTHLIMIT, PCRE2_ERROR_JIT_STACKLIMIT, PCRE2_ERROR_HEAPLIMIT:
            return .limit
        default: return .none
        }
    }

    /// `source` with every ASCII punctuation character escaped, for use inside a regex.
    static func escaped(_ source: String) -> String {
        var out = ""
        for ch in source.unicodeScalars {
            if ch.isASCII, !(ch.properties.isAlphabetic || ("0"..."9").contains(ch) || ch == "_"), ch != " " {
                out.append("\\")
            }
            out.unicodeScalars.append(ch)
        }
        return out
    }
}
