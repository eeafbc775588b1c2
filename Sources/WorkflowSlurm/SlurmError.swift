import Foundation
import Workflow

/// A problem talking to Slurm or with a job it ran: the command, what Slurm
/// said, and what to do about it.
public struct SlurmError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, where, and how to fix it, as lowercase sentences.
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
