import Foundation

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
