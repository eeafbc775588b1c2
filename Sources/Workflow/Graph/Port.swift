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
