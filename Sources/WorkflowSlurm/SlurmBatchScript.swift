import Foundation
import Workflow

/// One job to submit: a stage, or the shards of a stage as a job array, with
/// the command the node runs.
public struct SlurmJobRequest: Sendable, Hashable {
    /// Replaced, in `command`, by the array task's index on the node.
    public static let shardToken = "{shard}"

    /// Unique within one submission: the stage id, or `<stage>.shards` for its array.
    public var name: String
    /// The workflow stage this job works for.
    public var stageID: String
    /// The stage key the job must commit, when the plan knew it (an upstream
    /// stage that reruns leaves it open until the node computes it).
    public var key: String?
    /// The program and its arguments on the node.
    public var command: [String]
    public var resources: JobResources
    /// Names of requests in the same submission that must complete first (`afterok`).
    public var after: [String]
    /// The array task indices to run, or nil for a plain job.
    public var arrayTasks: [Int]?

    public init(name: String, stageID: String, key: String? = nil, command: [String], resources: JobResources,
                after: [String] = [], arrayTasks: [Int]? = nil) {
        self.name = name
        self.stageID = stageID
        self.key = key
        self.command = command
        self.resources = resources
        self.after = after
        self.arrayTasks = arrayTasks
    }
}

/// The batch script and `sbatch` flags for a `SlurmJobRequest`.
public enum SlurmBatchScript {
    /// The script text: `#!/bin/bash`, the `setup` lines (module loads, a
    /// virtual environment), then `exec` of the command.
    public static func render(_ request: SlurmJobRequest, setup: [String]) -> String {
        var lines = ["#!/bin/bash",
                     "# ssmflow: stage '\(request.stageID)'"
                        + (request.arrayTasks == nil ? "" : ", one shard per array task"),
                     "set -euo pipefail"]
        lines += setup
        let words = request.command.map { word -> String in
            word == SlurmJobRequest.shardToken ? "\"$SLURM_ARRAY_TASK_ID\"" : shellQuoted(word)
        }
        lines.append("exec " + words.joined(separator: " "))
        return lines.joined(separator: "\n") + "\n"
    }

    /// The flags for `sbatch`: name, log file, resources, array, dependencies.
    /// `dependencies` are the job ids of `request.after`.
    public static func arguments(_ request: SlurmJobRequest, logDirectory: URL,
                                 dependencies: [String]) -> [String] {
        let pattern = request.arrayTasks == nil ? "%j" : "%A_%a"
        var args = ["--job-name=ssmflow-\(request.name)",
                    "--output=\(logDirectory.appendingPathComponent("\(request.name)-\(pattern).log").path)"]
        args += request.resources.sbatchArguments
        if let tasks = request.arrayTasks { args.append("--array=\(arraySpec(tasks))") }
        if !dependencies.isEmpty {
            // Without kill-on-invalid-dep a job whose input failed would wait forever.
            args += ["--dependency=afterok:\(dependencies.joined(separator: ":"))",
                     "--kill-on-invalid-dep=yes"]
        }
        return args
    }

    /// The log file of a plain job or of one array task.
    public static func logFile(_ request: SlurmJobRequest, logDirectory: URL, jobID: String,
                               arrayTask: Int? = nil) -> URL {
        let suffix = arrayTask.map { "\(jobID)_\($0)" } ?? jobID
        return logDirectory.appendingPathComponent("\(request.name)-\(suffix).log")
    }

    /// `[0, 1, 2, 5, 7, 8]` → `0-2,5,7-8`, the form `--array` takes.
    public static func arraySpec(_ tasks: [Int]) -> String {
        let sorted = Array(Set(tasks)).sorted()
        var parts: [String] = []
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count, sorted[j + 1] == sorted[j] + 1 { j += 1 }
            parts.append(i == j ? "\(sorted[i])" : "\(sorted[i])-\(sorted[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// `word` as one shell word: bare when it is plainly safe, else single-quoted.
    public static func shellQuoted(_ word: String) -> String {
        let safe = CharacterSet(charactersIn:
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
        if !word.isEmpty, word.unicodeScalars.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
