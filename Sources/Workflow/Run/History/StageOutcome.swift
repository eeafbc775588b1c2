import Foundation

/// How a stage ended in a run.
public enum StageOutcome: String, Codable, Sendable {
    /// Computed and committed.
    case ran
    /// Taken from the cache after its outputs were verified.
    case cached
    /// Threw; its dependants are skipped.
    case failed
    /// Not attempted: an input failed, was cancelled, or the stage was outside `--until` / `--only`.
    case skipped
    /// Interrupted (Ctrl-C); nothing was committed.
    case cancelled
}
