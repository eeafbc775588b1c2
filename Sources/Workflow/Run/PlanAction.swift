import Foundation

/// What a run will do with a stage.
public enum PlanAction: String, Codable, Sendable {
    case run
    case cached
    /// Outside `--until` / `--only`.
    case skip
}
