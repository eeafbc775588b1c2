import Foundation

/// An output of a stage in a run: `stage.output`.
public struct ArtifactAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    public var stage: String
    public var output: String

    public init(stage: String, output: String) {
        self.stage = stage
        self.output = output
    }

    public var description: String { "\(stage).\(output)" }
}
