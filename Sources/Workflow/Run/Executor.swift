import Foundation

/// Runs stage jobs and commits their records. `LocalExecutor` runs them in this
/// process; a cluster executor would submit `ssmflow exec-stage` for the job's
/// key and wait for the record to appear in the shared cache.
public protocol Executor: Sendable {
    /// Runs `job`, stores its outputs, writes its record (the commit marker) and
    /// returns it. Throws `StageError` for a failing stage, `CancellationError`
    /// when interrupted; in both cases nothing is committed.
    func execute(_ job: StageJob, store: CacheStore, observer: @escaping RunObserver) async throws -> StageRecord

    /// Called by `Engine.run` before any stage starts. A batch executor asks
    /// for the plan (`makePlan`) and submits the jobs it will wait for in
    /// `execute`. Returns how many stages may wait at once (nil: `--jobs`).
    func prepare(workflow: ResolvedWorkflow, store: CacheStore, options: RunOptions,
                 makePlan: () throws -> [PlannedStage], observer: @escaping RunObserver) async throws -> Int?

    /// Called by `Engine.run` after the last stage, also when the run was
    /// interrupted: release what `prepare` started and nobody waited for.
    func finish(_ record: RunRecord, interrupted: Bool, observer: @escaping RunObserver) async
}

extension Executor {
    public func prepare(workflow: ResolvedWorkflow, store: CacheStore, options: RunOptions,
                        makePlan: () throws -> [PlannedStage], observer: @escaping RunObserver) async throws -> Int? { nil }
    public func finish(_ record: RunRecord, interrupted: Bool, observer: @escaping RunObserver) async {}
}
