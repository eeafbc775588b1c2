import Foundation
import Workflow

/// How a submitted job ended.
public enum SlurmJobOutcome: Sendable, Hashable {
    /// Every task completed with exit status 0.
    case completed
    /// A task ended badly; `state` is the first bad task's (FAILED, TIMEOUT,
    /// OUT_OF_MEMORY, CANCELLED by `scancel`, ...), `tasks` the failed array task
    /// indices (empty for a plain job).
    case failed(SlurmJobState, tasks: [Int])
    /// Cancelled by Slurm because a job it waited for did not complete.
    case cancelled(reason: String)
    /// Slurm forgot the job and the cache holds no result from it.
    case lost
}

/// Live state of one submitted job, for the progress display.
public struct SlurmJobUpdate: Sendable, Hashable {
    public var name: String
    /// The state of the job, or for an array the least advanced task's.
    public var state: SlurmJobState
    /// Slurm's reason for that state (`Resources`, `Dependency`), or empty.
    public var reason: String
    /// Array tasks finished so far, and their total (1 for a plain job).
    public var tasksDone: Int
    public var tasksTotal: Int
    public var node: String
}

/// Follows a submission until every job has finished, polling `squeue` (finished
/// jobs included), `sacct` when accounting works, and the cache for jobs Slurm
/// has already forgotten. Not thread-safe: one owner polls (`SlurmTracker`
/// shares it between waiting stages).
public final class SlurmMonitor: @unchecked Sendable {
    public let submission: SlurmSubmission
    let client: SlurmClient
    /// Whether the cache holds the result of a request (a stage record, or one
    /// shard's marker for an array task); asked only about jobs Slurm no longer lists.
    let isCommitted: @Sendable (SlurmJobRequest, Int?) -> Bool

    /// Per request name: task index (-1 for a plain job) → last known status.
    private var known: [String: [Int: SlurmTaskStatus]] = [:]
    /// The latest summary of every job polled so far.
    public private(set) var updates: [String: SlurmJobUpdate] = [:]
    /// Jobs that have finished, and how.
    public private(set) var outcomes: [String: SlurmJobOutcome] = [:]

    public init(submission: SlurmSubmission, client: SlurmClient,
                isCommitted: @escaping @Sendable (SlurmJobRequest, Int?) -> Bool) {
        self.submission = submission
        self.client = client
        self.isCommitted = isCommitted
    }

    /// Whether every submitted job has an outcome.
    public var isFinished: Bool {
        submission.requests.allSatisfy { submission.jobIDs[$0.name] == nil || outcomes[$0.name] != nil }
    }

    /// Asks Slurm once about every unfinished job; returns the summaries that changed.
    @discardableResult
    public func poll() throws -> [SlurmJobUpdate] {
        let open = submission.requests.filter { submission.jobIDs[$0.name] != nil && outcomes[$0.name] == nil }
        guard !open.isEmpty else { return [] }
        let ids = open.compactMap { submission.jobIDs[$0.name] }
        var statuses = try client.queue(jobIDs: ids)
        let listed = Set(statuses.map { "\($0.jobID)/\($0.arrayTask ?? -1)" })
        let missing = open.contains { request in
            Self.expectedTasks(request).contains { task in
                !listed.contains("\(submission.jobIDs[request.name]!)/\(task)")
                    && !(known[request.name]?[task].map(Self.isDone) ?? false)
            }
        }
        if missing, let accounted = client.accounting(jobIDs: ids) {
            statuses += accounted.filter { !listed.contains("\($0.jobID)/\($0.arrayTask ?? -1)") }
        }
        for status in statuses {
            guard let request = open.first(where: { submission.jobIDs[$0.name] == status.jobID }) else { continue }
            known[request.name, default: [:]][status.arrayTask ?? -1] = status
        }
        var changed: [SlurmJobUpdate] = []
        for request in open {
            let tasks = Self.expectedTasks(request)
            for task in tasks where known[request.name]?[task] == nil {
                // Forgotten by Slurm (MinJobAge) before we saw it finish: ask the cache.
                let committed = isCommitted(request, task < 0 ? nil : task)
                known[request.name, default: [:]][task] = SlurmTaskStatus(
                    jobID: submission.jobIDs[request.name]!, arrayTask: task < 0 ? nil : task,
                    state: committed ? .completed : .other("LOST"))
            }
            let states = tasks.compactMap { known[request.name]?[$0] }
            let update = Self.summarize(request.name, states)
            if updates[request.name] != update {
                updates[request.name] = update
                changed.append(update)
            }
            if update.tasksDone == update.tasksTotal {
                outcomes[request.name] = Self.outcome(states)
            }
        }
        return changed
    }

    /// Polls every `interval` seconds until every job has an outcome, calling
    /// `onUpdate` whenever a job's state or task count changes. Throws
    /// `CancellationError` when the task is cancelled (the jobs keep running;
    /// the caller decides whether to cancel them).
    public func wait(every interval: Double = 2,
                     onUpdate: (SlurmJobUpdate) -> Void = { _ in }) async throws -> [String: SlurmJobOutcome] {
        while true {
            try Task.checkCancellation()
            try poll().forEach(onUpdate)
            if isFinished { return outcomes }
            try await Task.sleep(nanoseconds: UInt64(interval * 1e9))
        }
    }

    /// Array task indices, or `[-1]` standing for a plain job.
    static func expectedTasks(_ request: SlurmJobRequest) -> [Int] {
        request.arrayTasks ?? [-1]
    }

    static func isDone(_ status: SlurmTaskStatus) -> Bool {
        status.state.isFinished || status.state == .other("LOST")
    }

    static func summarize(_ name: String, _ tasks: [SlurmTaskStatus]) -> SlurmJobUpdate {
        let done = tasks.filter(isDone).count
        // Show the least advanced task: running while any runs, pending while any waits.
        let order: [SlurmJobState] = [.running, .completing, .configuring, .pending, .requeued, .suspended]
        let state = order.first { s in tasks.contains { $0.state == s } }
            ?? tasks.first { !$0.state.isSuccessful }?.state ?? .completed
        let node = tasks.first { $0.state == .running }?.node ?? tasks.last?.node ?? ""
        let reason = tasks.first { $0.state == state }?.reason ?? ""
        return SlurmJobUpdate(name: name, state: state, reason: reason, tasksDone: done,
                              tasksTotal: tasks.count, node: node)
    }

    static func outcome(_ tasks: [SlurmTaskStatus]) -> SlurmJobOutcome {
        if tasks.allSatisfy(\.state.isSuccessful) { return .completed }
        // Slurm cancels a job whose dependency failed (--kill-on-invalid-dep):
        // not this job's fault, so not reported as its failure.
        let bad = tasks.filter { !$0.state.isSuccessful && !($0.state == .cancelled && $0.reason.contains("Dependency")) }
        if let first = bad.first(where: { $0.state != .other("LOST") }) {
            return .failed(first.state, tasks: bad.filter { $0.state != .other("LOST") }.compactMap(\.arrayTask).sorted())
        }
        if bad.isEmpty { return .cancelled(reason: "a job it waited for did not complete") }
        return .lost
    }
}
