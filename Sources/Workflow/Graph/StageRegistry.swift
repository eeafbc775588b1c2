import Foundation

/// The stage kinds a workflow may use, plus the hooks that give artifacts and
/// runs their domain meaning (inspectors, exporters, finishers). The engine registers its
/// built-in `shell` kind; the command line adds the pipeline's kinds.
public struct StageRegistry: Sendable {
    public private(set) var kinds: [String: StageKind] = [:]
    /// Summarisers for `ssmflow cache show` (first match wins; plain files otherwise).
    public var inspectors: [any ArtifactInspector] = []
    /// Writers of domain layouts for `ssmflow cache export` (first that handles
    /// an artifact wins; a plain copy otherwise).
    public var exporters: [any ArtifactExporter] = []
    /// Called after every run, in order.
    public var finishers: [any RunFinisher] = []
    /// Called before a run computes the stages they concern, in order.
    public var preflights: [any RunPreflight] = []
    /// The `executor:` kinds a workflow may name; the command line adds the
    /// executors it can build (`slurm`).
    public var executorKinds: [String] = ["local"]

    /// A registry with the built-in kinds (`shell`) and `kinds`.
    public init(_ kinds: [any Stage.Type] = [], includeBuiltins: Bool = true) {
        if includeBuiltins {
            register(ShellStage.self)
            register(NoopStage.self)
            register(ScatterStage.self)
        }
        for kind in kinds { register(kind) }
    }

    /// Adds a kind. Two kinds with one id is a programming error.
    public mutating func register(_ type: any Stage.Type) {
        precondition(kinds[type.kind] == nil, "stage kind '\(type.kind)' registered twice")
        kinds[type.kind] = StageKind(type)
    }

    public subscript(kind: String) -> StageKind? { kinds[kind] }

    /// Kind ids, sorted.
    public var names: [String] { kinds.keys.sorted() }
}
