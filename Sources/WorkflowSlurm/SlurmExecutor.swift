import Foundation
import Workflow

/// How a job reaches `ssmflow` on a node: the binary, and the arguments that
/// make the node resolve exactly the workflow the submitting machine planned.
public struct SlurmNodeCommand: Sendable, Equatable {
    /// Absolute path of `ssmflow` as the nodes see it (a shared filesystem).
    public var binary: String
    /// The absolute workflow file, then `--profile`, `--set` and `--cache-dir`
    /// as given to `ssmflow run`.
    public var workflowArguments: [String]

    public init(binary: String, workflowArguments: [String]) {
        self.binary = binary
        self.workflowArguments = workflowArguments
    }

    /// `ssmflow exec-stage WORKFLOW --stage ID ...` for stage `id`, or for one
    /// of its shards (the array task index is filled in on the node). The node
    /// never takes the stage lock: the submitting run holds it while it waits.
    public func arguments(stage id: String, expectedKey: String?, shard: Bool, force: Bool) -> [String] {
        var args = [binary, "exec-stage"] + workflowArguments + ["--stage", id, "--no-lock"]
        if let expectedKey { args += ["--key", expectedKey] }
        if shard { args += ["--shard", SlurmJobRequest.shardToken] }
        if force { args.append("--force") }
        return args
    }
}

/// Runs a workflow's stages as Slurm jobs against a cache on a filesystem
/// every node shares, through the engine's `Executor` protocol.
///
/// `prepare` plans exactly as a local run does and submits every stage that
/// must run as one `sbatch` job (after the jobs of its inputs,
/// `--dependency=afterok`), and the shards of a `ShardedStage` as a job array
/// before it; then the engine's scheduler walks the graph as usual, and
/// `execute` waits for each stage's job and reads the record the node
/// committed. A stage the scheduler finds cached after all (an upstream rerun
/// that reproduced its bytes) is not waited for; `finish` cancels its job.
public final class SlurmExecutor: Executor, @unchecked Sendable {
    public let configuration: SlurmConfiguration
    public let node: SlurmNodeCommand
    public let client: SlurmClient
    /// Seconds between two `squeue` polls.
    public let pollInterval: Double
    /// After an interrupted run: asked, with the job ids still queued or
    /// running, whether to `scancel` them; otherwise they keep running.
    public let confirmCancel: @Sendable ([String]) -> Bool

    private let lock = NSLock()
    /// Request name → the tracker of the submission that holds it.
    private var trackers: [String: SlurmTracker] = [:]

    public init(configuration: SlurmConfiguration, node: SlurmNodeCommand, client: SlurmClient = SlurmClient(),
                pollInterval: Double = 2, confirmCancel: @escaping @Sendable ([String]) -> Bool = { _ in true }) {
        self.configuration = configuration
        self.node = node
        self.client = client
        self.pollInterval = pollInterval
        self.confirmCancel = confirmCancel
    }

    // MARK: a whole run

    /// Submits every stage the plan runs; every stage whose inputs are ready
    /// then waits on its job at once (the cluster limits concurrency).
    public func prepare(workflow: ResolvedWorkflow, store: CacheStore, options: RunOptions,
                        makePlan: () throws -> [PlannedStage], observer: @escaping RunObserver) async throws -> Int? {
        if let submission = try submit(try makePlan(), workflow: workflow, store: store, options: options) {
            let ids = submission.requests.compactMap { r in submission.jobIDs[r.name].map { "\(r.name)=\($0)" } }
            observer(.note("submitted \(ids.count) Slurm job(s): \(ids.joined(separator: " ")); scripts and logs in \(submission.directory.path)"))
        }
        return workflow.graph.stages.count
    }

    /// Cancels the jobs nobody waited for (after an interrupted run, only when
    /// `confirmCancel` agrees).
    public func finish(_ record: RunRecord, interrupted: Bool, observer: @escaping RunObserver) async {
        let leftover = await unfinishedJobIDs()
        guard !leftover.isEmpty else { return }
        if !interrupted || confirmCancel(leftover) {
            do {
                try client.cancel(jobIDs: leftover)
                observer(.note("cancelled Slurm job(s) \(leftover.joined(separator: " "))\(interrupted ? "" : ", which no stage waits for any more")"))
            } catch {
                observer(.warning("\(error)"))
            }
        } else {
            observer(.note("Slurm job(s) \(leftover.joined(separator: " ")) keep running; stop them with: scancel \(leftover.joined(separator: " "))"))
        }
    }

    /// Submits the jobs for every stage `plan` runs, in plan order, and starts
    /// tracking them. Returns nil when nothing must run.
    @discardableResult
    public func submit(_ plan: [PlannedStage], workflow: ResolvedWorkflow, store: CacheStore,
                       options: RunOptions) throws -> SlurmSubmission? {
        let running = Set(plan.filter { $0.action == .run }.map(\.stage))
        var requests: [SlurmJobRequest] = []
        for planned in plan where planned.action == .run {
            guard let stage = workflow.graph[planned.stage] else { continue }
            let after = (workflow.graph.dependencies[stage.id] ?? []).filter(running.contains).sorted()
            requests += self.requests(for: stage, key: planned.key, after: after, store: store,
                                      force: options.forceAll || options.force.contains(stage.id))
        }
        guard !requests.isEmpty else { return nil }
        return try submitAndTrack(requests, store: store, workflow: workflow.name)
    }

    /// The jobs of one stage: its missing shards as an array (when it has
    /// shards and any are missing), then the stage itself.
    func requests(for stage: ResolvedStage, key: String?, after: [String], store: CacheStore,
                  force: Bool) -> [SlurmJobRequest] {
        let resources = configuration.resources(for: stage.id)
        var requests: [SlurmJobRequest] = []
        var waitsFor = after
        if let count = stage.kind.shardCount(params: stage.params), count > 1 {
            // Only a known key can have finished shards; otherwise every shard is new.
            let missing = (0..<count).filter { index in
                key.map { !SlurmNode.isShardDone(store: store, key: $0, shard: index) } ?? true
            }
            if !missing.isEmpty {
                let name = "\(stage.id).shards"
                requests.append(SlurmJobRequest(
                    name: name, stageID: stage.id, key: key,
                    command: node.arguments(stage: stage.id, expectedKey: key, shard: true, force: false),
                    resources: resources, after: after, arrayTasks: missing))
                waitsFor = [name]
            }
        }
        requests.append(SlurmJobRequest(
            name: stage.id, stageID: stage.id, key: key,
            command: node.arguments(stage: stage.id, expectedKey: key, shard: false, force: force),
            resources: resources, after: waitsFor))
        return requests
    }

    private func submitAndTrack(_ requests: [SlurmJobRequest], store: CacheStore,
                                workflow: String) throws -> SlurmSubmission {
        let directory = store.root.appendingPathComponent("slurm/jobs/\(RunRecord.makeID(Date()))")
        let submission = try SlurmSubmission.submit(requests, into: directory, setup: configuration.setup,
                                                    client: client)
        // Keys known at submission; a stage whose key was unknown counts as
        // committed when its last key moved on to a record after submission.
        let refsBefore = Dictionary(requests.map { ($0.stageID, store.lastKey(workflow: workflow, stage: $0.stageID)) },
                                    uniquingKeysWith: { a, _ in a })
        let monitor = SlurmMonitor(submission: submission, client: client) { request, task in
            let key = request.key
            if let task {
                return key.map { SlurmNode.isShardDone(store: store, key: $0, shard: task) } ?? false
            }
            if let key { return store.record(key) != nil }
            let now = store.lastKey(workflow: workflow, stage: request.stageID)
            return now != nil && now != refsBefore[request.stageID] ?? nil && store.record(now!) != nil
        }
        let tracker = SlurmTracker(monitor: monitor, interval: pollInterval)
        lock.withLock { for request in requests { trackers[request.name] = tracker } }
        return submission
    }

    private func unfinishedJobIDs() async -> [String] {
        var seen = Set<ObjectIdentifier>(), ids: [String] = []
        for tracker in lock.withLock({ Array(trackers.values) }) where seen.insert(ObjectIdentifier(tracker)).inserted {
            try? await tracker.refresh()
            ids += await tracker.unfinishedJobIDs()
        }
        return ids.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
    }

    // MARK: one stage

    /// Waits for the job of `job.stage` (submitting it now when `run` did not)
    /// and returns the record its node committed. Throws `StageError` with the
    /// Slurm state and the log's last lines when a job of the stage fails.
    public func execute(_ job: StageJob, store: CacheStore, observer: @escaping RunObserver) async throws -> StageRecord {
        let id = job.stage.id
        var tracker = lock.withLock { trackers[id] }
        if tracker == nil {
            // Not foreseen by the plan (or a run not started through `run`):
            // its inputs are committed now, so it needs no dependencies.
            let requests = self.requests(for: job.stage, key: job.key, after: [], store: store, force: false)
            _ = try submitAndTrack(requests, store: store, workflow: job.workflow)
            tracker = lock.withLock { trackers[id] }
        }
        guard let tracker else { preconditionFailure("stage '\(id)' was just submitted") }
        let names = ["\(id).shards", id].filter { tracker.submission.jobIDs[$0] != nil }
        var shown: [String: SlurmJobUpdate] = [:]
        while true {
            try Task.checkCancellation()
            try await tracker.refresh()
            var finished = true
            for name in names {
                let (update, outcome) = await tracker.state(name)
                if let update, shown[name] != update {
                    shown[name] = update
                    report(update, stage: id, jobID: tracker.submission.jobIDs[name] ?? "?", observer: observer)
                }
                switch outcome {
                case nil: finished = false
                case .completed?: continue
                case let outcome?:
                    throw StageError(stage: id, message: SlurmFailureReport(
                        submission: tracker.submission, name: name, outcome: outcome).text)
                }
            }
            if finished { break }
            try await Task.sleep(nanoseconds: UInt64(pollInterval * 0.5 * 1e9))
        }
        guard let record = store.record(job.key) else {
            let log = SlurmFailureReport(submission: tracker.submission, name: id, outcome: .completed).logPath
            throw StageError(stage: id, message: "Slurm job \(tracker.submission.jobIDs[id] ?? "?") completed but the cache holds no record for key \(job.key.prefix(12)); the node may see another cache: make --cache-dir the same shared path on every node (log: \(log))")
        }
        return record
    }

    private func report(_ update: SlurmJobUpdate, stage: String, jobID: String, observer: RunObserver) {
        let isArray = update.name.hasSuffix(".shards")
        var message = "\(isArray ? "Slurm array" : "Slurm job") \(jobID): \(update.state)"
        if update.state == .pending, !update.reason.isEmpty, update.reason != "None" { message += " (\(update.reason))" }
        if update.state == .running, !update.node.isEmpty { message += " on \(update.node)" }
        if isArray { message = "shards \(update.tasksDone)/\(update.tasksTotal) done, " + message }
        observer(.progress(stage: stage, done: update.tasksDone, total: update.tasksTotal, message: message))
        observer(.log(stage: stage, line: message))
    }
}
