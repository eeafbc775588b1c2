import Foundation

/// A named input or output of a stage kind.
public struct Port: Sendable, Hashable {
    public var name: String
    public var summary: String
    /// An optional input may be left unconnected in the workflow.
    public var isOptional: Bool

    public init(_ name: String, _ summary: String = "", optional: Bool = false) {
        self.name = name
        self.summary = summary
        self.isOptional = optional
    }
}

/// A problem with a stage's parameters, reported by `StageParameters.validate()`.
public struct ParameterIssue: Sendable, Hashable {
    /// The parameter's name (a key of the params struct).
    public var parameter: String
    /// What is wrong and how to fix it, as a lowercase sentence.
    public var message: String

    public init(_ parameter: String, _ message: String) {
        self.parameter = parameter
        self.message = message
    }
}

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

/// A stage kind: the code behind `uses:` in a workflow.
///
/// Raising `version` invalidates every cached result of this kind and, through
/// changed output digests, whatever depends on it.
public protocol Stage: Sendable {
    associatedtype Params: StageParameters

    /// Kebab-case id used in `uses:` (e.g. `femur-cohort`).
    static var kind: String { get }
    /// Code version; part of every stage key.
    static var version: Int { get }
    /// One line for `--help` and error messages.
    static var summary: String { get }
    static var inputs: [Port] { get }
    static var outputs: [Port] { get }

    init()

    /// Produces every declared output at `context.outputURL(name)`.
    /// Throw for anything the user, a file, a library or the machine can cause.
    func run(_ params: Params, context: StageContext) async throws
}
