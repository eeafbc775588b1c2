import ArgumentParser
import Foundation
import Workflow
import WorkflowSlurm

/// The workflow file and how to instantiate it; shared by most commands.
struct WorkflowOptions: ParsableArguments {
    @Argument(help: "The workflow YAML file.", completion: .file(extensions: ["yaml", "yml"]))
    var workflow: String

    @Option(help: "Apply a profile from the workflow's 'profiles:' (e.g. tiny).")
    var profile: String?

    @Flag(help: "Alias for '--profile tiny': a small, fast configuration for testing.")
    var tinyTest = false

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a parameter: STAGE.PARAM=VALUE or params.NAME=VALUE (VALUE is YAML); repeatable.", valueName: "stage.param=value"))
    var overrides: [String] = []

    @Option(help: ArgumentHelp("The cache directory (default: $SSMFLOW_CACHE, the workflow's 'cache: {dir:}', or ./cache).", valueName: "dir"))
    var cacheDir: String?

    func validate() throws {
        if tinyTest, let profile, profile != "tiny" {
            throw ValidationError("--tiny-test means '--profile tiny'; it cannot be combined with '--profile \(profile)'")
        }
        for text in overrides where !text.contains("=") {
            throw ValidationError("--set '\(text)' must be 'STAGE.PARAM=VALUE'")
        }
    }

    var resolveOptions: ResolveOptions {
        ResolveOptions(profile: tinyTest ? "tiny" : profile, overrides: overrides)
    }

    var url: URL { URL(fileURLWithPath: workflow) }

    /// The engine with every registered kind (and the executor `makeExecutor`
    /// chooses for the workflow and its cache), and the resolved workflow.
    func load(executor makeExecutor: (ResolvedWorkflow, URL) throws -> any Executor = { _, _ in LocalExecutor() })
        throws -> (Engine, ResolvedWorkflow) {
        let registry = makeRegistry()
        let workflow = try WorkflowLoader(registry: registry).load(file: url, options: resolveOptions)
        let cache = CacheLocation.directory(explicit: cacheDir, workflow: workflow)
        // Inside a Slurm job, stages use the job's CPUs, not the whole node's.
        let engine = try Engine(registry: registry, cacheDirectory: cache, executor: try makeExecutor(workflow, cache),
                                cpuLimit: SlurmNode.allocatedCPUs())
        return (engine, workflow)
    }
}

/// Which stages a run covers.
struct SelectionOptions: ParsableArguments {
    @Option(help: "Run this stage and what it needs, nothing downstream.")
    var until: String?

    @Option(help: "Run only this stage; what it reads must already be cached.")
    var only: String?

    @Option(help: "Recompute this stage even if cached (repeatable).")
    var force: [String] = []

    @Flag(help: "Recompute every stage.")
    var forceAll = false

    @Option(name: [.short, .long], help: "Stages to run at once.")
    var jobs = 1

    @Flag(help: "Rehash every cached output instead of trusting unchanged file signatures.")
    var verify = false

    func validate() throws {
        if until != nil && only != nil { throw ValidationError("use either --until or --only, not both") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
    }

    var runOptions: RunOptions {
        RunOptions(until: until, only: only, force: Set(force), forceAll: forceAll, jobs: jobs, verifyFully: verify)
    }
}

/// The cache directory alone, for commands without a workflow.
struct CacheOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The cache directory (default: $SSMFLOW_CACHE, the --workflow's 'cache: {dir:}', or ./cache).", valueName: "dir"))
    var cacheDir: String?

    @Option(help: ArgumentHelp("Take the cache directory from this workflow file's 'cache: {dir:}'.", valueName: "file"))
    var workflow: String?

    func store() throws -> CacheStore {
        let cacheFile: URL? = try workflow.map { path in
            try WorkflowLoader.cacheDirectory(declaredIn: URL(fileURLWithPath: path))
        } ?? nil
        let url = CacheLocation.directory(explicit: cacheDir, declared: cacheFile)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CacheError("no cache at '\(url.path)'; run a workflow first or pass --cache-dir", invalidInput: true)
        }
        return try CacheStore(root: url)
    }
}

/// Every stage kind this executable knows.
func makeRegistry() -> StageRegistry { SSMFlow.registry }

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// `1.2s`, `3m04s`, `1h02m`.
func formatSeconds(_ seconds: Double) -> String {
    if seconds < 0.1 { return String(format: "%.0fms", seconds * 1000) }
    if seconds < 60 { return String(format: "%.1fs", seconds) }
    let s = Int(seconds.rounded())
    if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
}

/// Left-aligned columns.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
    return all.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}
