import Foundation

/// Something the engine reports while a run goes on.
public enum RunEvent: Sendable {
    case started(stage: String, reasons: [String])
    case progress(stage: String, done: Int, total: Int, message: String)
    case log(stage: String, line: String)
    /// Another run holds the stage's lock; this one waits for it.
    case waiting(stage: String, holder: String)
    case finished(StageRunSummary)
    /// A cache problem that was repaired (a corrupt object removed), or a finisher's warning.
    case warning(String)
    /// Lines a run finisher returned.
    case note(String)
}

/// Receives run events; called from several tasks at once.
public typealias RunObserver = @Sendable (RunEvent) -> Void

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

/// A stage that failed, with the stage id and the underlying cause.
public struct StageError: Error, Sendable, CustomStringConvertible {
    public var stage: String
    public var cause: String
    public init(stage: String, cause: String) {
        self.stage = stage
        self.cause = cause
    }
    public var description: String { "stage '\(stage)' failed: \(cause)" }
}

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
            throw StageError(stage: job.stage.id, cause: StorageFault.describeStageMessage(failure.message, cache: store.root) ?? failure.message)
        } catch let error as StageError {
            throw error
        } catch {
            throw StageError(stage: job.stage.id, cause: StorageFault.describe(error, cache: store.root, stage: nil) ?? "\(error)")
        }
        var outputs: [String: StoredArtifact] = [:]
        for name in job.stage.outputs {
            let url = context.outputURL(name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw StageError(stage: job.stage.id, cause: "the stage finished without writing its output '\(name)' (kind '\(job.stage.kind.kind)' must create it at context.outputURL(\"\(name)\"))")
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

/// The `StageContext` of a local run.
final class LocalStageContext: StageContext, @unchecked Sendable {
    let job: StageJob
    let store: CacheStore
    let outputs: URL
    let scratchDirectory: URL
    let observer: RunObserver
    private let lock = NSLock()
    private var _log: [String] = []
    private var _metrics: [String: Double] = [:]
    private var _memos: [String] = []

    init(job: StageJob, store: CacheStore, outputs: URL, scratch: URL, observer: @escaping RunObserver) {
        self.job = job
        self.store = store
        self.outputs = outputs
        self.scratchDirectory = scratch
        self.observer = observer
    }

    var stageID: String { job.stage.id }
    var key: String { job.key }
    var threads: Int { job.threads }
    var workflowDirectory: URL { job.workflowDirectory }

    var logLines: [String] { lock.withLock { _log } }
    var metrics: [String: Double] { lock.withLock { _metrics } }
    var memoKeys: [String] { lock.withLock { _memos } }

    func input(_ name: String) throws -> URL {
        guard let url = job.inputs[name] else {
            throw StageFailure("stage '\(stageID)' reads input '\(name)' but the workflow does not connect it; add '\(name): STAGE.OUTPUT' under its 'inputs:'")
        }
        return url
    }

    func hasInput(_ name: String) -> Bool { job.inputs[name] != nil }

    func outputURL(_ name: String) -> URL { outputs.appendingPathComponent(name) }

    func memo(_ item: String, ignoring parameters: Set<String>) -> MemoSlot {
        let key = job.manifest.memoKey(item: item, ignoring: parameters)
        lock.withLock { _memos.append(key) }
        return LocalMemoSlot(key: key, item: item, store: store, onProblem: { [weak self] in self?.log($0) })
    }

    func progress(_ done: Int, of total: Int, _ message: String) {
        observer(.progress(stage: stageID, done: done, total: total, message: message))
    }

    func log(_ line: String) {
        lock.withLock { _log.append(line) }
        observer(.log(stage: stageID, line: line))
    }

    func metric(_ name: String, _ value: Double) {
        lock.withLock { _metrics[name] = value }
    }

    func checkCancellation() throws { try Task.checkCancellation() }
}

extension CacheStore {
    /// The memo slot `key` of this store (what a stage's `memo(_:ignoring:)`
    /// hands out); `onProblem` hears about corrupt or missing entries.
    public func memoSlot(key: String, item: String, onProblem: @escaping @Sendable (String) -> Void = { _ in }) -> MemoSlot {
        LocalMemoSlot(key: key, item: item, store: self, onProblem: onProblem)
    }
}

/// A memo slot backed by the cache's object store.
struct LocalMemoSlot: MemoSlot {
    let key: String
    let item: String
    let store: CacheStore
    let onProblem: @Sendable (String) -> Void

    func lookup() throws -> URL? {
        guard let record = store.memoRecord(key, onProblem: { onProblem("memo '\(item)': \($0)") }) else { return nil }
        switch store.verify(record.artifact, full: false) {
        case .ok:
            return store.objectURL(record.artifact.digest.hex)
        case .missing:
            onProblem("memo '\(item)' (\(key.prefix(12))): object missing; recomputing")
        case .corrupt(let why):
            onProblem("memo '\(item)' (\(key.prefix(12))): object corrupt (\(why)); removed, recomputing")
            store.removeObject(record.artifact.digest.hex)
        }
        store.removeMemo(key)
        return nil
    }

    /// The memo key's lock, in `locks/` beside the stage keys' locks.
    func claim() throws -> MemoClaim {
        try CacheLock.acquireBlocking(key: "memo-\(key)", in: store.locksDirectory,
                                      onWait: { onProblem("waiting for memo '\(item)': \($0) is computing it") })
    }

    @discardableResult
    func store(_ url: URL) throws -> URL {
        let artifact = try store.store(url)
        try store.writeMemoRecord(MemoRecord(key: key, item: item, artifact: artifact))
        return store.objectURL(artifact.digest.hex)
    }
}
