import Foundation

/// Called once before a run's first stage with the stages it will compute
/// (those `concerns` picks, and only when there are some): checks that the
/// machine can do them (a GPU that works, say) and returns facts about it for
/// the run record's `environment` (provenance, never part of a key). A thrown
/// error stops the run before any stage starts (exit status 2).
public protocol RunPreflight: Sendable {
    func concerns(kind: String, params: ParamValue) -> Bool
    func check(_ stages: [PreflightStage]) throws -> [String: String]
}
