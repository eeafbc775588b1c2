import Foundation

/// One problem with a workflow: where, what, and the fix.
public struct SpecIssue: Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation?
    /// A lowercase sentence naming the problem and its remedy.
    public var message: String

    public init(_ location: SourceLocation?, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String {
        location.map { "\($0): error: \(message)" } ?? "error: \(message)"
    }
}
