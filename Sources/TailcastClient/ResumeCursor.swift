/// Where a connection to one server has got to in each source, so that a reconnect resumes
/// with `since` and shows every line exactly once.
///
/// Promises: `since` names every source whose epoch is known, at the last line shown (or, when
/// none was shown yet, at the position `hello` reported); `admit` refuses a line at or below the
/// last one shown of the same epoch (a duplicate) and remembers the rest; a new epoch for a
/// source starts it again from nothing. O(1) per line.
public struct ResumeCursor: Sendable, Equatable {
    struct Position: Sendable, Equatable {
        var epoch: String
        /// The last line shown in this epoch.
        var shown: UInt64?
        /// Where `hello` said the source stood when it was first selected (or 0 in a new epoch:
        /// every held line of it is still to come).
        var baseline: UInt64
    }

    private(set) var positions: [String: Position] = [:]

    public init() {}

    /// The `since` points for the next connection, by source name.
    public var since: [ResumePoint] {
        positions.keys.sorted().map { name in
            let p = positions[name]!
            return ResumePoint(source: name, seq: p.shown ?? p.baseline, epoch: p.epoch)
        }
    }

    /// Takes a `hello`'s epochs and positions; returns the sources whose epoch changed (a server
    /// that restarted without saved state: their numbering started again).
    public mutating func greet(epochs: [String: String], seqs: [String: UInt64]) -> [String] {
        var renumbered: [String] = []
        for (name, epoch) in epochs.sorted(by: { $0.key < $1.key }) {
            if let old = positions[name] {
                if old.epoch != epoch {
                    positions[name] = Position(epoch: epoch, shown: nil, baseline: 0)
                    renumbered.append(name)
                }
            } else {
                positions[name] = Position(epoch: epoch, shown: nil, baseline: seqs[name] ?? 0)
            }
        }
        return renumbered
    }

    /// Whether a line is new (and so to be shown); remembers it when it is.
    public mutating func admit(source: String, seq: UInt64) -> Bool {
        guard var p = positions[source] else { return true }
        if let shown = p.shown, seq <= shown { return false }
        p.shown = seq
        positions[source] = p
        return true
    }

    /// Forgets every position (after the server refused to resume from them).
    public mutating func reset() { positions = [:] }
}
