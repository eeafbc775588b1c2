import Foundation

extension Engine {
    /// Computes and memoizes shard `index` of stage `id` in this process (what
    /// a cluster node does for one array task), unless `skipIf` says the shard
    /// of the stage's key is done. The stage's upstream stages must all be
    /// committed; `expectedKey`, when given, must match the key computed here.
    /// Returns the stage key.
    public func executeShard(_ workflow: ResolvedWorkflow, stage id: String, shard index: Int,
                             expectedKey: String? = nil, skipIf: (String) -> Bool = { _ in false },
                             observer: @escaping RunObserver = { _ in }) async throws -> String {
        // The lease keeps 'cache gc' from removing what this shard reads or writes.
        let lease = try await CacheLease.acquire(store, staleAfter: lockStaleAfter)
        defer { lease.release() }
        let (manifest, _) = try currentManifest(workflow, stage: id)
        guard let manifest, let stage = workflow.graph[id] else {
            throw PlanError("shard \(index) of stage '\(id)' cannot run: an upstream stage is not cached; "
                + "the job must wait for it (submit the workflow with --executor slurm, not this job alone)")
        }
        if let expectedKey, expectedKey != manifest.key {
            throw PlanError("stage '\(id)' has key \(manifest.key.prefix(12)) here but \(expectedKey.prefix(12)) was "
                + "submitted; the workflow or its inputs differ between the submitting machine and this node")
        }
        if skipIf(manifest.key) { return manifest.key }
        let job = try makeJob(workflow, stage: stage, manifest: manifest)
        let work = try store.makeWorkDirectory("\(id)-shard-\(index)")
        ProcessCleanup.holdDirectory(work.path)
        defer {
            try? store.removeTree(work)
            ProcessCleanup.releaseDirectory(work.path)
        }
        let outputs = work.appendingPathComponent("outputs"), scratch = work.appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: outputs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let context = LocalStageContext(job: job, store: store, outputs: outputs, scratch: scratch, observer: observer)
        do {
            try await stage.kind.runShard(index, params: stage.params, context: context)
        } catch let failure as StageFailure {
            throw StageError(stage: id, cause: failure, message: "shard \(index): \(failure.message)")
        }
        return manifest.key
    }
}
