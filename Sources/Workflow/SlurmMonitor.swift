import Foundation

/// How a submitted job ended.
public enum SlurmJobOutcome: Sendable, Hashable {
    /// Every task completed with exit status 0.
    case completed
    /// A task ended badly; `state` is the first bad task's (FAILED, TIMEOUT,
    /// OUT_OF_MEMORY, ...), `tasks` the failed array task indices (empty for a plain job).
    case failed(SlurmJobState, tasks: [Int])
    /// Cancelled before or while running: by `scancel`, or because a job it waited for failed.
    case cancelled(reason: String)
    /// Slurm forgot the job and the cache holds no result from it.
    case lost
}

/// Live state of one submitted job, for the progress display.
public struct SlurmJobUpdate: Sendable, Hashable {
    public var name: String
    /// The state of the job, or for an array the least advanced task's.
    public var state: SlurmJobState
    /// Array tasks finished so far, and their total (1 for a plain job).
    public var tasksDone: Int
    public var tasksTotal: Int
    public var node: String
}

/// Follows a submission until every job has finished, polling `squeue` (finished
/// jobs included), `sacct` when accounting works, and the cache for jobs Slurm
/// has already forgotten.
public final class SlurmMonitor: Sendable {
    public let submission: SlurmSubmission
    let client: SlurmClient
    let pollInterval: Double
    /// Whether the cache holds the result of a request (a stage record, or one
    /// shard's marker for an array task); asked only about jobs Slurm no longer lists.
    let isCommitted: @Sendable (SlurmJobRequest, Int?) -> Bool

    public init(submission: SlurmSubmission, client: SlurmClient, pollInterval: Double = 2,
                isCommitted: @escaping @Sendable (SlurmJobRequest, Int?) -> Bool) {
        self.submission = submission
        self.client = client
        self.pollInterval = pollInterval
        self.isCommitted = isCommitted
    }

    /// Polls until every job has an outcome, calling `onUpdate` whenever a job's
    /// state or task count changes. Throws `CancellationError` as soon as
    /// `stopRequested` returns true (the jobs keep running; the caller decides
    /// whether to cancel them).
    public func wait(onUpdate: (SlurmJobUpdate) -> Void,
                     stopRequested: () -> Bool = { false }) async throws -> [String: SlurmJobOutcome] {
        // Per request name: task index (nil key → -1 for plain jobs) → last known status.
        var known: [String: [Int: SlurmTaskStatus]] = [:]
        var outcomes: [String: SlurmJobOutcome] = [:]
        var lastUpdate: [String: SlurmJobUpdate] = [:]
        let requests = submission.requests.filter { submission.jobIDs[$0.name] != nil }

        while outcomes.count < requests.count {
            if stopRequested() { throw CancellationError() }
            let open = requests.filter { outcomes[$0.name] == nil }
            let ids = open.compactMap { submission.jobIDs[$0.name] }
            var statuses = try client.queue(jobIDs: ids)
            let listed = Set(statuses.map { "\($0.jobID)/\($0.arrayTask ?? -1)" })
            let missing = open.flatMap { request in
                Self.expectedTasks(request).filter { task in
                    !listed.contains("\(submission.jobIDs[request.name]!)/\(task)")
                        && !(known[request.name]?[task]?.state.isFinished ?? false)
                }
            }
            if !missing.isEmpty, let accounted = client.accounting(jobIDs: ids) {
                statuses += accounted.filter { !listed.contains("\($0.jobID)/\($0.arrayTask ?? -1)") }
            }
            for status in statuses {
                guard let request = open.first(where: { submission.jobIDs[$0.name] == status.jobID }) else { continue }
                known[request.name, default: [:]][status.arrayTask ?? -1] = status
            }

            for request in open {
                let tasks = Self.expectedTasks(request)
                var states = known[request.name] ?? [:]
                for task in tasks where states[task] == nil {
                    // Forgotten by Slurm (MinJobAge) before we saw it finish: ask the cache.
                    let committed = isCommitted(request, task < 0 ? nil : task)
                    states[task] = SlurmTaskStatus(jobID: submission.jobIDs[request.name]!,
                                                   arrayTask: task < 0 ? nil : task,
                                                   state: committed ? .completed : .other("LOST"))
                    known[request.name, default: [:]][task] = states[task]
                }
                let update = Self.summarize(request.name, tasks.compactMap { states[$0] })
                if lastUpdate[request.name] != update {
                    lastUpdate[request.name] = update
                    onUpdate(update)
                }
                if update.tasksDone == update.tasksTotal {
                    outcomes[request.name] = Self.outcome(tasks.compactMap { states[$0] })
                }
            }
            if outcomes.count < requests.count {
                try await Task.sleep(nanoseconds: UInt64(pollInterval * 1e9))
            }
        }
        return outcomes
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
        return SlurmJobUpdate(name: name, state: state, tasksDone: done, tasksTotal: tasks.count, node: node)
    }

    static func outcome(_ tasks: [SlurmTaskStatus]) -> SlurmJobOutcome {
        if tasks.allSatisfy(\.state.isSuccessful) { return .completed }
        let bad = tasks.filter { !$0.state.isSuccessful && $0.state != .cancelled && $0.state != .other("LOST") }
        if let first = bad.first {
            return .failed(first.state, tasks: bad.compactMap(\.arrayTask).sorted())
        }
        if let cancelled = tasks.first(where: { $0.state == .cancelled }) {
            let reason = cancelled.reason.contains("Dependency")
                ? "a job it waited for did not complete" : "cancelled (\(cancelled.reason))"
            return .cancelled(reason: reason)
        }
        return .lost
    }
}
