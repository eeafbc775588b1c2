import Foundation

/// A stage kind whose work splits into independent parts (shards), each
/// memoized through `context.memo`, so that a cluster executor can run the
/// shards as a job array before the stage itself runs.
///
/// `run` stays the whole stage: it computes (or finds memoized) every shard
/// and assembles the outputs, so a local run needs nothing else. On Slurm the
/// executor first runs `runShard(i)` for every missing shard as one array
/// task each, then `run`, which finds every shard memoized and only assembles.
public protocol ShardedStage: Stage {
    /// How many shards an instance with these parameters has; 1 or less means
    /// "run whole".
    static func shardCount(_ params: Params) -> Int

    /// Computes shard `index` (`0..<shardCount`) and memoizes it exactly as
    /// `run` would, so `run` finds it. Must not write the stage's outputs.
    func runShard(_ index: Int, _ params: Params, context: StageContext) async throws
}

extension StageKind {
    /// The shard count of an instance with these parameters, or nil when the
    /// kind does not split into shards.
    public func shardCount(params: ParamValue) -> Int? {
        (type as? any ShardedStage.Type)?.erasedShardCount(params)
    }

    /// Runs shard `index` of a `ShardedStage` kind. Throws `StageFailure` when
    /// the kind has no shards or `index` is out of range.
    public func runShard(_ index: Int, params: ParamValue, context: StageContext) async throws {
        guard let sharded = type as? any ShardedStage.Type else {
            throw StageFailure("stage '\(context.stageID)' (kind '\(kind)') does not split into shards; run it without --shard")
        }
        try await sharded.erasedRunShard(index, params, context)
    }
}

// Opening `any ShardedStage.Type` binds `Params`, as `DynamicPorts` does.
extension ShardedStage {
    static func erasedShardCount(_ value: ParamValue) -> Int? {
        (try? value.decode(Params.self)).map { max(1, shardCount($0)) }
    }

    static func erasedRunShard(_ index: Int, _ value: ParamValue, _ context: StageContext) async throws {
        let params: Params
        do { params = try value.decode(Params.self) } catch {
            throw StageFailure("parameters of stage '\(context.stageID)' no longer decode as '\(kind)' parameters: \(error)")
        }
        let count = max(1, shardCount(params))
        guard (0..<count).contains(index) else {
            throw StageFailure("stage '\(context.stageID)' has \(count) shards (0...\(count - 1)) but shard \(index) was asked for; resubmit the workflow")
        }
        try await Self().runShard(index, params, context: context)
    }
}
