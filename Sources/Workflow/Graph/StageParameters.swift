import Foundation

/// The parameters of a stage kind: a `Codable` struct whose `init()` holds the
/// defaults. The engine encodes the defaults, overlays the workflow's values,
/// and decodes the result, so unknown keys and wrong types are caught with
/// their YAML position, and every field gets its default without boilerplate.
public protocol StageParameters: Codable, Sendable {
    init()
    /// Range and consistency checks; every issue is reported at once.
    func validate() -> [ParameterIssue]
    /// Optional properties (nil by default) a workflow may set: they are not in
    /// the encoded defaults, so they stay out of the stage key until set, and
    /// adding one keeps every existing key.
    static var optionalParameters: [String] { get }
}

extension StageParameters {
    public func validate() -> [ParameterIssue] { [] }
    public static var optionalParameters: [String] { [] }
}
