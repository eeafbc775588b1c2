import Foundation

/// A workflow ready to plan and run.
public struct ResolvedWorkflow: Sendable {
    public var name: String
    /// The workflow file (or label).
    public var file: String
    /// The directory external files are resolved against.
    public var directory: URL
    public var graph: StageGraph
    /// Shared `params:` after overrides.
    public var sharedParams: [String: ParamValue]
    public var profile: String?
    /// `--set` overrides as given.
    public var overrides: [String]
    /// `cache: {dir:}` from the file, resolved against `directory`.
    public var cacheDirectory: URL?
    /// `executor:` from the file (the local executor when absent).
    public var executor = ExecutorSpec()

    /// What the job of stage `id` asks for: its own `resources:` over the executor's defaults.
    public func resources(for id: String) -> JobResources {
        (graph[id]?.resources ?? JobResources()).merged(over: executor.resources)
    }
}
