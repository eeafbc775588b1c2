import Foundation

/// Runs stages as tasks of this process.
public struct LocalExecutor: Executor {
    public init() {}

    public func execute(_ job: StageJob, store: CacheStore, observer: @escaping RunObserver) async throws -> StageRecord {
        let work = try store.makeWorkDirectory(job.stage.id)
        ProcessCleanup.holdDirectory(work.path)
        defer {
            try? store.removeTree(work)
            ProcessCleanup.releaseDirectory(work.path)
        }
        let outputsDir = work.appendingPathComponent("outputs")
        let scratch = work.appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: outputsDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let context = LocalStageContext(job: job, store: store, outputs: outputsDir, scratch: scratch, observer: observer)
        let started = Date()
        do {
            try await job.stage.kind.run(params: job.stage.params, context: context)
            try Task.checkCancellation()
        } catch is CancellationError {
            throw CancellationError()
        } catch let failure as StageFailure {
            throw StageError(stage: job.stage.id, cause: failure,
                             message: StorageFault.describeStageMessage(failure.message, cache: store.root))
        } catch let error as StageError {
            throw error
        } catch {
            throw StageError(stage: job.stage.id, cause: error,
                             message: StorageFault.describe(error, cache: store.root, stage: nil))
        }
        var outputs: [String: StoredArtifact] = [:]
        for name in job.stage.outputs {
            let url = context.outputURL(name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw StageError(stage: job.stage.id, message: "the stage finished without writing its output '\(name)' (kind '\(job.stage.kind.kind)' must create it at context.outputURL(\"\(name)\"))")
            }
            outputs[name] = try store.store(url)
        }
        let record = StageRecord(key: job.key, stage: job.stage.id, workflow: job.workflow, manifest: job.manifest,
                                 inputSources: job.inputSources, outputs: outputs, startedAt: started,
                                 seconds: Date().timeIntervalSince(started), host: hostName(), pid: getpid(),
                                 log: context.logLines, metrics: context.metrics, memos: context.memoKeys)
        FaultInjection.point("after-objects", stage: job.stage.id)
        // The record is the commit marker: written only after every object is in place.
        try store.writeRecord(record)
        FaultInjection.point("after-record", stage: job.stage.id)
        return record
    }
}
