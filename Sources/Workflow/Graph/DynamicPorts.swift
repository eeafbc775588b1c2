import Foundation

/// A stage kind whose inputs or outputs depend on its parameters (the `shell`
/// kind declares its outputs in the workflow). Kinds that adopt it are checked
/// against these ports instead of the static ones.
public protocol DynamicPorts {
    associatedtype Params: StageParameters
    /// The inputs this instance accepts, given the names the workflow connects.
    static func inputs(for params: Params, connected: [String]) -> [Port]
    static func outputs(for params: Params) -> [Port]
}
