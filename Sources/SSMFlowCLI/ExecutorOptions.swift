import ArgumentParser
import Foundation
import Workflow
import WorkflowSlurm

/// Where `ssmflow run` executes stages: in this process, or as Slurm jobs.
struct ExecutorOptions: ParsableArguments {
    @Option(help: ArgumentHelp("'local' or 'slurm' (default: the workflow's 'executor:', else local).",
                               valueName: "kind"))
    var executor: String?

    @Option(help: ArgumentHelp("The ssmflow binary as the cluster nodes see it (default: this one).",
                               valueName: "path"))
    var nodeBinary: String?

    @Option(help: ArgumentHelp("Seconds between two squeue polls (slurm).", valueName: "seconds"))
    var poll: Double = 2

    func validate() throws {
        let known = SSMFlow.registry.executorKinds
        if let executor, !known.contains(executor) {
            throw ValidationError("--executor '\(executor)' is not known; use one of: \(known.joined(separator: ", "))")
        }
        if poll <= 0 { throw ValidationError("--poll must be a positive number of seconds, got \(poll)") }
    }

    /// The executor `--executor` or the workflow's `executor:` chooses.
    func makeExecutor(for workflow: ResolvedWorkflow, from options: WorkflowOptions, cache: URL) throws -> any Executor {
        guard (executor ?? workflow.executor.kind) == "slurm" else { return LocalExecutor() }
        guard SlurmClient.isInstalled() else {
            throw ValidationError("--executor slurm needs Slurm's sbatch and squeue on PATH; load the cluster's Slurm module, or run with --executor local")
        }
        // The node resolves the same workflow: same file, profile, overrides and cache.
        var arguments = [options.url.standardizedFileURL.path]
        if let profile = options.resolveOptions.profile { arguments += ["--profile", profile] }
        for text in options.overrides { arguments += ["--set", text] }
        arguments += ["--cache-dir", cache.path]
        let binary = nodeBinary ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        return SlurmExecutor(configuration: SlurmConfiguration(workflow),
                             node: SlurmNodeCommand(binary: binary, workflowArguments: arguments),
                             pollInterval: poll, confirmCancel: Self.askToCancel)
    }

    /// After Ctrl-C: asks on the terminal whether to `scancel` the jobs still queued or running.
    static func askToCancel(_ jobIDs: [String]) -> Bool {
        guard isatty(STDIN_FILENO) != 0 else { return false }
        printError("cancel \(jobIDs.count) Slurm job(s) still queued or running (\(jobIDs.joined(separator: " ")))? [y/N] ")
        return readLine()?.lowercased().hasPrefix("y") ?? false
    }
}
