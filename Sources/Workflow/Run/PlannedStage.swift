import Foundation

/// One stage of a plan: the action and the readable reasons for it.
public struct PlannedStage: Codable, Sendable {
    public var stage: String
    public var kind: String
    public var action: PlanAction
    public var reasons: [String]
    /// The stage key, when every input is already known (nil when an upstream stage reruns).
    public var key: String?
}
