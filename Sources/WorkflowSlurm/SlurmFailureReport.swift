import Foundation
import Workflow

/// What a user reads when a stage's Slurm job did not complete: the job (or
/// the failed array tasks), the Slurm state and its remedy, and the last lines
/// of the log, where the stage's own error is.
struct SlurmFailureReport {
    let submission: SlurmSubmission
    let name: String
    let outcome: SlurmJobOutcome
    var tailLines = 15

    private var jobID: String { submission.jobIDs[name] ?? "?" }

    /// The first failed task, whose log the report shows.
    private var shownTask: Int? {
        if case let .failed(_, tasks) = outcome { return tasks.first }
        return nil
    }

    /// The log of the job (of the first failed task for an array).
    var logPath: String {
        guard let request = submission.request(name) else { return submission.directory.path }
        return SlurmBatchScript.logFile(request, logDirectory: submission.directory, jobID: jobID,
                                        arrayTask: shownTask).path
    }

    var text: String {
        var head: String
        switch outcome {
        case let .failed(state, tasks):
            if tasks.isEmpty {
                head = "Slurm job \(jobID) ended \(state)"
            } else {
                let list = tasks.prefix(10).map(String.init).joined(separator: ", ")
                    + (tasks.count > 10 ? " and \(tasks.count - 10) more" : "")
                head = "shard\(tasks.count == 1 ? "" : "s") \(list) (Slurm array \(jobID)) ended \(state)"
            }
            if let remedy = state.remedy { head += "; \(remedy)" }
        case let .cancelled(reason):
            head = "Slurm job \(jobID) was cancelled: \(reason)"
        case .lost:
            head = "Slurm job \(jobID) left the queue without committing a result (a node crash, or a cache the node does not share)"
        case .completed:
            head = "Slurm job \(jobID) completed"
        }
        guard let (file, tail) = submission.logTail(name, arrayTask: shownTask, lines: tailLines), !tail.isEmpty else {
            return head + "; no log at \(logPath) (the job never started)"
        }
        let indented = tail.split(separator: "\n", omittingEmptySubsequences: false).map { "    | \($0)" }
        return head + "; last lines of \(file.path):\n" + indented.joined(separator: "\n")
    }
}
