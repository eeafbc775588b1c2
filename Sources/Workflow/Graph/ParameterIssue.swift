import Foundation

/// A problem with a stage's parameters, reported by `StageParameters.validate()`.
public struct ParameterIssue: Sendable, Hashable {
    /// The parameter's name (a key of the params struct).
    public var parameter: String
    /// What is wrong and how to fix it, as a lowercase sentence.
    public var message: String

    public init(_ parameter: String, _ message: String) {
        self.parameter = parameter
        self.message = message
    }
}
