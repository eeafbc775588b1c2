import Foundation

/// A stage that failed: the stage id, the underlying error as it was thrown
/// (a `StageFailure`, a storage fault, a native library's error, a Slurm job's
/// failure), and the words a user reads for it (what the run record keeps).
public struct StageError: Error, Sendable, CustomStringConvertible {
    public var stage: String
    /// The error the stage (or its executor) threw.
    public var cause: any Error
    /// The cause in a user's words: the failure's own message, or a clearer
    /// rendering of it (a full disk named with the cache and its free space).
    public var message: String

    public init(stage: String, cause: any Error, message: String? = nil) {
        self.stage = stage
        self.cause = cause
        self.message = message ?? (cause as? StageFailure)?.message ?? "\(cause)"
    }

    /// A failure described in words only (no underlying error to keep).
    public init(stage: String, message: String) {
        self.init(stage: stage, cause: StageFailure(message), message: message)
    }

    public var description: String { "stage '\(stage)' failed: \(message)" }
}
