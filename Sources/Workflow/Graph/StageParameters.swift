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
    /// Parameters that say how a stage works, never what it writes (e.g. where
    /// its data lives): the stage receives them, but they stay out of its stage
    /// key and memo keys, so changing one reuses the cache.
    static var unkeyedParameters: [String] { get }
}

extension StageParameters {
    public func validate() -> [ParameterIssue] { [] }
    public static var optionalParameters: [String] { [] }
    public static var unkeyedParameters: [String] { [] }
}
