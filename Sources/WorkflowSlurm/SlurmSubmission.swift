import Foundation
import Workflow

/// A set of jobs submitted together: their scripts, logs and Slurm job ids,
/// kept in one directory on the shared filesystem.
public struct SlurmSubmission: Sendable {
    /// Where the scripts, the logs and `jobs.json` live.
    public var directory: URL
    /// The requests, in submission order (dependencies first).
    public var requests: [SlurmJobRequest]
    /// Slurm's job id for each request name.
    public var jobIDs: [String: String]

    /// Writes one script per request into `directory` and submits them in
    /// order, each after the jobs it depends on. When a submission fails, the
    /// jobs already submitted are cancelled and the error is rethrown.
    public static func submit(_ requests: [SlurmJobRequest], into directory: URL, setup: [String],
                              client: SlurmClient) throws -> SlurmSubmission {
        try checkOrder(requests)
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        var submission = SlurmSubmission(directory: directory, requests: requests, jobIDs: [:])
        do {
            for request in requests {
                let script = directory.appendingPathComponent("\(request.name).sh")
                try SlurmBatchScript.render(request, setup: setup)
                    .write(to: script, atomically: true, encoding: .utf8)
                try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
                let dependencies = request.after.compactMap { submission.jobIDs[$0] }
                let arguments = SlurmBatchScript.arguments(request, logDirectory: directory,
                                                           dependencies: dependencies)
                submission.jobIDs[request.name] = try client.submit(script: script, arguments: arguments)
                try submission.save()
            }
        } catch {
            try? client.cancel(jobIDs: Array(submission.jobIDs.values))
            throw error
        }
        return submission
    }

    /// Requests must name unique jobs and come after everything they wait for.
    static func checkOrder(_ requests: [SlurmJobRequest]) throws {
        var seen = Set<String>()
        for request in requests {
            for name in request.after where !seen.contains(name) {
                precondition(requests.contains { $0.name == name },
                             "job '\(request.name)' waits for '\(name)', which is not in the submission")
                throw SlurmError("job '\(request.name)' is listed before '\(name)', which it waits for")
            }
            guard seen.insert(request.name).inserted else {
                throw SlurmError("two jobs are named '\(request.name)' in one submission")
            }
        }
    }

    /// The request named `name`.
    public func request(_ name: String) -> SlurmJobRequest? {
        requests.first { $0.name == name }
    }

    /// `jobs.json`: request name → job id, so a user (or `scancel`) can find them later.
    public func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(jobIDs).write(to: directory.appendingPathComponent("jobs.json"), options: .atomic)
    }

    /// The last `lines` lines of a job's log (of one array task when given), or
    /// nil when the log does not exist (the job never started).
    public func logTail(_ name: String, arrayTask: Int? = nil, lines: Int = 20) -> (URL, String)? {
        guard let request = request(name), let id = jobIDs[name] else { return nil }
        let file = SlurmBatchScript.logFile(request, logDirectory: directory, jobID: id, arrayTask: arrayTask)
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return nil }
        let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines + 1)
        return (file, tail.joined(separator: "\n").trimmingCharacters(in: .newlines))
    }
}
