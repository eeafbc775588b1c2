import Foundation

/// Shares one `SlurmMonitor` between the stages waiting on a submission, so
/// Slurm is asked at most once per poll interval however many stages wait.
actor SlurmTracker {
    let monitor: SlurmMonitor
    let interval: Double
    private var lastPoll = Date.distantPast

    init(monitor: SlurmMonitor, interval: Double) {
        self.monitor = monitor
        self.interval = interval
    }

    nonisolated var submission: SlurmSubmission { monitor.submission }

    /// Polls Slurm unless another waiter did so within the interval.
    func refresh() throws {
        guard Date().timeIntervalSince(lastPoll) >= interval * 0.9 else { return }
        lastPoll = Date()
        try monitor.poll()
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
