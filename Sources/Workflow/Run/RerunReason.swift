import Foundation

/// Why a stage runs, is reused or is left out: a value the planner and the
/// scheduler decide on, rendered to the words a user reads (`plan`, `run`,
/// the run record). Code branches on the case, never on the text.
public enum RerunReason: Sendable, Hashable, CustomStringConvertible {
    case neverRun
    case forced
    case unchanged
    case kindChanged(from: String, to: String)
    case versionChanged(from: Int, to: Int)
    /// `path` is `STAGE.PARAM` (dotted below it for nested values).
    case paramChanged(path: String, from: String, to: String)
    case inputChanged(source: String)
    case fileChanged(path: String)
    case upstreamReruns(stage: String)
    case outputMissing(stage: String, output: String)
    case outputCorrupt(stage: String, output: String, why: String)
    /// The record of the stage's key exists but does not decode (left in place).
    case recordUnreadable(stage: String, why: String)
    case recordMissing
    case schemaChanged(from: Int, to: Int)
    case committedByAnotherRun
    case outsideSelection(flag: String, stage: String)
    case inputMissing(stage: String, outcome: String)
    case interrupted
    case interruptedNothingCommitted

    public var description: String {
        switch self {
        case .neverRun: return "never run"
        case .forced: return "forced"
        case .unchanged: return "unchanged"
        case let .kindChanged(from, to): return "stage kind '\(from)' → '\(to)'"
        case let .versionChanged(from, to): return "stage code version \(from) → \(to)"
        case let .paramChanged(path, from, to): return "params changed: \(path) \(from) → \(to)"
        case let .inputChanged(source): return "input changed: \(source)"
        case let .fileChanged(path): return "file changed: \(path)"
        case let .upstreamReruns(stage): return "upstream '\(stage)' reruns"
        case let .outputMissing(stage, output): return "output missing: \(stage).\(output)"
        case let .outputCorrupt(stage, output, why): return "output corrupt: \(stage).\(output) (\(why))"
        case let .recordUnreadable(stage, why): return "record unreadable: \(stage) (\(why))"
        case .recordMissing: return "record missing: removed from the cache"
        case let .schemaChanged(from, to): return "cache schema \(from) → \(to)"
        case .committedByAnotherRun: return "committed by another run"
        case let .outsideSelection(flag, stage): return "outside \(flag) \(stage)"
        case let .inputMissing(stage, outcome): return "input from '\(stage)' is missing: '\(stage)' \(outcome)"
        case .interrupted: return "run interrupted"
        case .interruptedNothingCommitted: return "run interrupted; nothing was committed"
        }
    }

    /// Whether the reason is about an input's content (unknown while an upstream stage reruns).
    var isInputChange: Bool {
        if case .inputChanged = self { return true }
        return false
    }
}
