import Foundation

/// An error a stage throws for a problem with its data or the machine.
/// The engine wraps it with the stage id when reporting.
public struct StageFailure: Error, CustomStringConvertible, Sendable {
    /// What went wrong, where, and how to fix it, as lowercase sentences.
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
