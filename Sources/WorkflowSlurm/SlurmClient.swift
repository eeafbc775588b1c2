import Foundation
import Workflow

/// One job or array task as Slurm reports it.
public struct SlurmTaskStatus: Sendable, Hashable {
    /// The job id `sbatch` returned (for an array task, the array's id).
    public var jobID: String
    /// The array task index, or nil for a plain job.
    public var arrayTask: Int?
    public var state: SlurmJobState
    /// Slurm's reason (`Resources`, `Dependency`, `NonZeroExitCode`, `TimeLimit`), or empty.
    public var reason: String
    /// The node it runs or ran on, or empty.
    public var node: String

    public init(jobID: String, arrayTask: Int?, state: SlurmJobState, reason: String = "", node: String = "") {
        self.jobID = jobID
        self.arrayTask = arrayTask
        self.state = state
        self.reason = reason
        self.node = node
    }

    /// `12` or `10_3`, as Slurm's own tools spell it.
    public var displayID: String { arrayTask.map { "\(jobID)_\($0)" } ?? jobID }
}

/// Slurm's command-line tools (`sbatch`, `squeue`, `sacct`, `scancel`), run as
/// child processes with the caller's environment (`SLURM_CONF` included).
public struct SlurmClient: Sendable {
    /// Variables set for every Slurm command on top of this process's environment.
    public var environment: [String: String]

    public init(environment: [String: String] = [:]) {
        self.environment = environment
    }

    /// Whether `sbatch` and `squeue` are on `PATH`.
    public static func isInstalled() -> Bool {
        findExecutable("sbatch") != nil && findExecutable("squeue") != nil
    }

    /// Submits `script` with `arguments` (flags before the script) and returns the job id.
    public func submit(script: URL, arguments: [String]) throws -> String {
        let result = try run("sbatch", ["--parsable"] + arguments + [script.path])
        guard result.status == 0 else {
            throw SlurmError("sbatch refused \(script.lastPathComponent): \(result.errorText); "
                + "check the stage's resources (partition, mem, time) against 'sinfo'")
        }
        // --parsable prints `id` or `id;cluster`.
        let id = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: ";").first.map(String.init) ?? ""
        guard !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw SlurmError("sbatch printed '\(result.output)' instead of a job id for \(script.lastPathComponent)")
        }
        return id
    }

    /// The jobs and array tasks among `jobIDs` that `squeue` still knows,
    /// finished ones included (until Slurm forgets them after `MinJobAge`).
    public func queue(jobIDs: [String]) throws -> [SlurmTaskStatus] {
        guard !jobIDs.isEmpty else { return [] }
        let result = try run("squeue", ["--noheader", "--array", "--states=all",
                                        "--jobs=\(jobIDs.joined(separator: ","))",
                                        "--format=%F|%K|%T|%r|%N"])
        if result.status != 0 {
            // squeue fails outright when it has forgotten every id asked for.
            if result.errorText.contains("Invalid job id") { return [] }
            throw SlurmError("squeue failed: \(result.errorText); is slurmctld reachable (try 'sinfo')?")
        }
        return Self.parseQueue(result.output)
    }

    /// Parses `squeue --format=%F|%K|%T|%r|%N` lines.
    static func parseQueue(_ text: String) -> [SlurmTaskStatus] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard f.count >= 3, !f[0].isEmpty else { return nil }
            return SlurmTaskStatus(jobID: f[0], arrayTask: Int(f[1]), state: SlurmJobState(parsing: f[2]),
                                   reason: f.count > 3 ? f[3] : "", node: f.count > 4 ? f[4] : "")
        }
    }

    /// What `sacct` recorded for `jobIDs`, or nil when accounting is off (no slurmdbd).
    public func accounting(jobIDs: [String]) -> [SlurmTaskStatus]? {
        guard !jobIDs.isEmpty, Self.findExecutable("sacct") != nil,
              let result = try? run("sacct", ["--noheader", "--parsable2", "--allocations",
                                              "--jobs=\(jobIDs.joined(separator: ","))",
                                              "--format=JobID,State,NodeList"]),
              result.status == 0 else { return nil }
        return Self.parseAccounting(result.output)
    }

    /// Parses `sacct --parsable2 --format=JobID,State,NodeList` lines (`10_3|TIMEOUT|node1`).
    static func parseAccounting(_ text: String) -> [SlurmTaskStatus] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            // Job steps (`21_3.batch`) repeat their allocation's state.
            guard f.count >= 2, !f[0].contains(".") else { return nil }
            let id = f[0].split(separator: "_", maxSplits: 1).map(String.init)
            guard let job = id.first, job.allSatisfy(\.isNumber) else { return nil }
            return SlurmTaskStatus(jobID: job, arrayTask: id.count > 1 ? Int(id[1]) : nil,
                                   state: SlurmJobState(parsing: f[1]), node: f.count > 2 ? f[2] : "")
        }
    }

    /// Cancels `jobIDs` (whole arrays, or `10_3` for one task).
    public func cancel(jobIDs: [String]) throws {
        guard !jobIDs.isEmpty else { return }
        let result = try run("scancel", jobIDs)
        guard result.status == 0 else {
            throw SlurmError("scancel \(jobIDs.joined(separator: " ")) failed: \(result.errorText)")
        }
    }

    // MARK: child processes

    struct ToolResult {
        var status: Int32
        var output: String
        var error: String
        var errorText: String {
            let text = error.trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? "exit status \(status)" : text
        }
    }

    func run(_ tool: String, _ arguments: [String]) throws -> ToolResult {
        guard let executable = Self.findExecutable(tool) else {
            throw SlurmError("'\(tool)' is not on PATH; load Slurm's module or install slurm-client")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // Files, not pipes: a chatty tool can never block on a full pipe buffer.
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("ssmflow-\(tool)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out"), err = scratch.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw SlurmError("could not start \(executable.path): \(error.localizedDescription)")
        }
        process.waitUntilExit()
        try? outHandle.close()
        try? errHandle.close()
        return ToolResult(status: process.terminationStatus,
                          output: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                          error: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    static func findExecutable(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }
}
