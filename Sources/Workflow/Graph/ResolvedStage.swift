import Foundation

/// A stage of a resolved workflow: kind, canonical parameters, connections.
public struct ResolvedStage: Sendable {
    public var id: String
    public var kind: StageKind
    /// Parameters after references, profile, overrides and defaults, re-encoded
    /// from the decoded params struct (canonical: `1e-4` == `0.0001`).
    public var params: ParamValue
    /// Input name → the output it reads.
    public var inputs: [String: ArtifactAddress]
    /// Declared output names, in declaration order.
    public var outputs: [String]
    /// External files the stage reads (relative path → absolute URL), hashed into its key.
    public var files: [String: URL]
    public var location: SourceLocation
    /// `resources:` as written for this stage (not part of its key).
    public var resources = JobResources()
}
