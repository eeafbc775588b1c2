import Foundation

/// A request that does not fit the workflow (an unknown `--only` stage, an
/// upstream result that `--only` needs but the cache lacks).
public struct PlanError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
