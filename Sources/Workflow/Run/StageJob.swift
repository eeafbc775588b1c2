import Foundation

/// A stage ready to execute: key computed, inputs located, lock held.
public struct StageJob: Sendable {
    public var workflow: String
    public var workflowDirectory: URL
    public var stage: ResolvedStage
    public var manifest: KeyManifest
    public var key: String
    /// Input name → read-only object in the cache.
    public var inputs: [String: URL]
    public var inputSources: [String: ArtifactAddress]
    public var threads: Int
}

extension StageJob {
    /// The job of `stage` with key manifest `manifest`: inputs located in
    /// `store`, and `threads` CPU threads (a cluster job's allocation, else the
    /// machine's cores shared by the `jobs` stages that run at once).
    public init(workflow: ResolvedWorkflow, stage: ResolvedStage, manifest: KeyManifest, store: CacheStore,
                cpuLimit: Int?, jobs: Int = 1) {
        var inputs: [String: URL] = [:]
        for (name, digest) in manifest.inputs { inputs[name] = store.objectURL(digest) }
        self.init(workflow: workflow.name, workflowDirectory: workflow.directory, stage: stage,
                  manifest: manifest, key: manifest.key, inputs: inputs, inputSources: stage.inputs,
                  threads: cpuLimit ?? max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, jobs)))
    }
}
