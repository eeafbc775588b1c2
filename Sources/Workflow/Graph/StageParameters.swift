import Foundation

/// The parameters of a stage kind: a `Codable` struct whose `init()` holds the
/// defaults. The engine encodes the defaults, overlays the workflow's values,
/// and decodes the result, so unknown keys and wrong types are caught with
/// their YAML position, and every field gets its default without boilerplate.
public protocol StageParameters: Codable, Sendable {
    init()
    /// Range and consistency checks; every issue is reported at once.
    func validate() -> [ParameterIssue]
}

extension StageParameters {
    public func validate() -> [ParameterIssue] { [] }
}
