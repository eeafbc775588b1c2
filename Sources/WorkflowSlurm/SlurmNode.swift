import Foundation
import Workflow

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
        let key = try await engine.executeShard(workflow, stage: id, shard: index, expectedKey: expectedKey,
                                                skipIf: { isShardDone(store: engine.store, key: $0, shard: index) },
                                                observer: observer)
        try engine.store.writeAtomically(Data("\(hostName()) \(getpid())\n".utf8),
                                         to: markerURL(store: engine.store, key: key, shard: index))
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
