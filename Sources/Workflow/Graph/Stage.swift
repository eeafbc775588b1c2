import Foundation

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
