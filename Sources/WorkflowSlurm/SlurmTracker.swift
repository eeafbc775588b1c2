import Foundation
import Workflow

/// Shares one `SlurmMonitor` between the stages waiting on a submission, so
/// Slurm is asked at most once per poll interval however many stages wait.
actor SlurmTracker {
    let monitor: SlurmMonitor
    let interval: Double
    private var lastPoll = Date.distantPast
    private var failingSince: Date?
    /// How long `squeue` may keep failing before the wait gives up: a busy
    /// controller often times out for a while, and the jobs run on regardless.
    let patience: TimeInterval

    init(monitor: SlurmMonitor, interval: Double, patience: TimeInterval = 600) {
        self.monitor = monitor
        self.interval = interval
        self.patience = patience
    }

    nonisolated var submission: SlurmSubmission { monitor.submission }

    /// Polls Slurm unless another waiter did so within the interval. A failing
    /// poll is retried on the next call; it throws only when Slurm has not
    /// answered for `patience` seconds.
    func refresh() throws {
        guard Date().timeIntervalSince(lastPoll) >= interval * 0.9 else { return }
        lastPoll = Date()
        do {
            try monitor.poll()
            failingSince = nil
        } catch {
            let since = failingSince ?? Date()
            failingSince = since
            if Date().timeIntervalSince(since) >= patience {
                throw SlurmError("Slurm has not answered for \(Int(patience)) s (\(error)); the jobs may still run: check them with squeue, then run the workflow again to collect their results")
            }
        }
    }

    /// The latest summary and, once finished, the outcome of job `name`.
    func state(_ name: String) -> (update: SlurmJobUpdate?, outcome: SlurmJobOutcome?) {
        (monitor.updates[name], monitor.outcomes[name])
    }

    /// Job ids of the submitted jobs that have not finished (as of the last poll).
    func unfinishedJobIDs() -> [String] {
        submission.requests.filter { monitor.outcomes[$0.name] == nil }
            .compactMap { submission.jobIDs[$0.name] }
    }
}
