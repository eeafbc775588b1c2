import Foundation

/// One stage in a run record.
public struct StageRunSummary: Codable, Sendable {
    public var stage: String
    public var kind: String
    public var outcome: StageOutcome
    /// Why it ran, or why it was skipped or failed (readable lines).
    public var reasons: [String]
    public var key: String?
    public var seconds: Double
    public var metrics: [String: Double]
    /// The failure message, with its cause.
    public var error: String?
}
