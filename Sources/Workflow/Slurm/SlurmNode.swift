import Foundation

/// What a Slurm job does on its node: one shard of a `ShardedStage`, against
/// the shared cache. (A whole stage runs through `Engine.executeStage`.)
///
/// A finished shard leaves a marker, `slurm/shards/<stage key>/<index>.done`,
/// so that a resubmission runs only the shards that have none; the shard's
/// results themselves are memo slots of the stage.
public enum SlurmNode {
    /// Computes and memoizes shard `index` of stage `id`, whose upstream stages
    /// must all be committed, then writes the shard's marker.
    public static func executeShard(engine: Engine, workflow: ResolvedWorkflow, stage id: String, shard index: Int,
                                    expectedKey: String? = nil,
                                    observer: @escaping RunObserver = { _ in }) async throws {
        let (manifest, _) = try engine.currentManifest(workflow, stage: id)
        guard let manifest, let stage = workflow.graph[id] else {
            throw PlanError("shard \(index) of stage '\(id)' cannot run: an upstream stage is not cached; "
                + "the job must wait for it (submit the workflow with --executor slurm, not this job alone)")
        }
        if let expectedKey, expectedKey != manifest.key {
            throw PlanError("stage '\(id)' has key \(manifest.key.prefix(12)) here but \(expectedKey.prefix(12)) was "
                + "submitted; the workflow or its inputs differ between the submitting machine and this node")
        }
        if isShardDone(store: engine.store, key: manifest.key, shard: index) { return }
        let job = try engine.makeJob(workflow, stage: stage, manifest: manifest)
        let work = try engine.store.makeWorkDirectory("\(id)-shard-\(index)")
        defer { try? engine.store.removeTree(work) }
        let outputs = work.appendingPathComponent("outputs"), scratch = work.appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: outputs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let context = LocalStageContext(job: job, store: engine.store, outputs: outputs, scratch: scratch,
                                        observer: observer)
        do {
            try await stage.kind.runShard(index, params: stage.params, context: context)
        } catch let failure as StageFailure {
            throw StageError(stage: id, cause: "shard \(index): \(failure.message)")
        }
        try engine.store.writeAtomically(Data("\(hostName()) \(getpid())\n".utf8),
                                         to: markerURL(store: engine.store, key: manifest.key, shard: index))
    }

    /// The CPUs Slurm gave this job (`--cpus-per-task`, else the job's CPUs on
    /// this node), or nil outside a Slurm job. A stage must not use every core
    /// of a shared node: its other cores belong to other jobs.
    public static func allocatedCPUs(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        for name in ["SLURM_CPUS_PER_TASK", "SLURM_CPUS_ON_NODE"] {
            if let text = environment[name], let count = Int(text), count > 0 { return count }
        }
        return nil
    }

    /// Whether shard `index` of the stage with key `key` has finished.
    public static func isShardDone(store: CacheStore, key: String, shard index: Int) -> Bool {
        FileManager.default.fileExists(atPath: markerURL(store: store, key: key, shard: index).path)
    }

    static func markerURL(store: CacheStore, key: String, shard index: Int) -> URL {
        store.root.appendingPathComponent("slurm/shards/\(key)/\(index).done")
    }
}
