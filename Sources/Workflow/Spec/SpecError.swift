import Foundation

/// An invalid workflow: every problem found, reported at once.
public struct SpecError: Error, Sendable, CustomStringConvertible {
    public var issues: [SpecIssue]

    public init(_ issues: [SpecIssue]) { self.issues = issues }

    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
