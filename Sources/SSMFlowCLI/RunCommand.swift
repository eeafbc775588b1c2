import ArgumentParser
import Dispatch
import Foundation
import Workflow
import WorkflowSlurm

/// `ssmflow run`.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a workflow: compute what changed, reuse the rest from the cache.",
        discussion: """
        Independent stages run in parallel (--jobs). On a failure the failing stage's error \
        is printed, its dependants are skipped, and everything that succeeded stays cached: \
        running again resumes there. Ctrl-C cancels cleanly: nothing half-written is kept.

        Examples:
          ssmflow run workflows/femur_deepssm.yaml
          ssmflow run workflows/femur_deepssm.yaml --tiny-test --jobs 2
          ssmflow run workflows/femur_deepssm.yaml --set deepssm-train.epochs=60 --until deepssm-train
          ssmflow run workflows/femur_deepssm.yaml --force deepssm-predict
          ssmflow run workflows/femur_deepssm.yaml --executor slurm
        """
    )

    @OptionGroup var workflow: WorkflowOptions
    @OptionGroup var selection: SelectionOptions
    @OptionGroup var cluster: ExecutorOptions

    @Flag(name: .shortAndLong, help: "Print every stage's log lines as they come.")
    var verbose = false

    @Flag(name: .shortAndLong, help: "Without a terminal, print no progress lines (starts, ends, warnings and errors only).")
    var quiet = false

    func validate() throws {
        if verbose && quiet { throw ValidationError("use either --verbose or --quiet, not both") }
    }

    func run() async throws {
        let (engine, resolved) = try workflow.load { [workflow, cluster] resolved, cache in
            try cluster.makeExecutor(for: resolved, from: workflow, cache: cache)
        }
        let display = ProgressDisplay(verbose: verbose, quiet: quiet)
        let options = selection.runOptions
        let task = Task {
            try await engine.run(resolved, options: options, observer: display.observer)
        }
        let interrupt = InterruptHandler { task.cancel() }
        defer { interrupt.cancel() }
        let record: RunRecord
        do { record = try await task.value } catch {
            display.stop()
            throw error
        }
        display.stop()
        print(summaryTable(record))
        for stage in record.stages where stage.outcome == .failed {
            printError("error: stage '\(stage.stage)' failed: \(stage.error ?? "unknown error")")
        }
        print("run \(record.id): \(record.ranCount) ran, \(record.cachedCount) cached, \(record.failedCount) failed in \(formatSeconds(record.seconds)) (cache: \(engine.store.root.path))")
        if record.stages.contains(where: { $0.outcome == .cancelled }) { throw ExitCode(130) }
        if !record.succeeded { throw ExitCode(1) }
    }
}

/// The final table of a run: stage, outcome, why, time.
func summaryTable(_ record: RunRecord) -> String {
    table(["stage", "outcome", "why", "time"], record.stages.map { stage in
        // The table keeps one line per stage; the full error follows it.
        let why = stage.outcome == .failed ? String((stage.error ?? "").prefix { $0 != "\n" }) : stage.reasons.joined(separator: "; ")
        return [stage.stage, stage.outcome.rawValue, why, stage.outcome == .ran || stage.outcome == .failed ? formatSeconds(stage.seconds) : "-"]
    })
}

/// Cancels the run on the first SIGINT/SIGTERM: stages stop at their next safe
/// point (between batches, samples, epochs) and nothing half-written is kept.
/// A second signal hurries: it removes this process's locks, lease and work
/// directories and ends it with `_exit` (see `ProcessCleanup`), never running
/// exit handlers while native code is mid-kernel.
final class InterruptHandler: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private var count = 0
    // One serial queue for both signals, so the count has no race.
    private let queue = DispatchQueue(label: "ssmflow.interrupt")

    init(_ onInterrupt: @escaping @Sendable () -> Void) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.count += 1
                if self.count > 1 {
                    printError("interrupted again: quitting now; locks and work directories removed, nothing committed is lost")
                    ProcessCleanup.hurriedExit(130)
                }
                printError("\ninterrupted: cancelling running stages (press Ctrl-C again to quit at once)")
                onInterrupt()
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Stops listening. The signals stay ignored until the process ends, so a
    /// late Ctrl-C cannot kill it while it exits (and runs native destructors).
    func cancel() {
        for source in sources { source.cancel() }
    }
}

/// `ssmflow plan`.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what 'run' would do and why, without running anything.",
        discussion: """
        For every stage: 'run' or 'cached' and the reason in values, e.g. \
        'params changed: train.epochs 50 → 60', 'input changed: augment.images', \
        'stage code version 2 → 3', 'never run', 'forced', 'output missing: ...'.

        Examples:
          ssmflow plan workflows/femur_deepssm.yaml --set deepssm-train.epochs=60
          ssmflow plan workflows/femur_deepssm.yaml --json
        """
    )

    @OptionGroup var workflow: WorkflowOptions
    @OptionGroup var selection: SelectionOptions

    @Flag(help: "Print the plan as JSON: [{stage, kind, action, reasons, key}].")
    var json = false

    func run() async throws {
        let (engine, resolved) = try workflow.load()
        let plan = try engine.plan(resolved, options: selection.runOptions, onProblem: { printError("warning: \($0)") })
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(plan), as: UTF8.self))
            return
        }
        print(table(["stage", "action", "why"], plan.map { [$0.stage, $0.action.rawValue, $0.reasons.joined(separator: "; ")] }))
        let runs = plan.filter { $0.action == .run }.count
        print("\(runs) to run, \(plan.filter { $0.action == .cached }.count) cached, \(plan.filter { $0.action == .skip }.count) skipped")
    }
}

/// `ssmflow exec-stage`: one planned stage, in this process, against the cache.
struct ExecStageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec-stage",
        abstract: "Run one stage whose inputs are cached and commit it (used by cluster executors).",
        discussion: "Example:\n  ssmflow exec-stage workflows/femur_deepssm.yaml --stage deepssm-train --key 3fa9c2...",
        shouldDisplay: false
    )

    @OptionGroup var workflow: WorkflowOptions

    @Option(help: "The stage id.")
    var stage: String

    @Option(help: "The stage key the submitter computed; refuse to run under another one.")
    var key: String?

    @Flag(help: "Do not take the stage's lock (the submitting run holds it).")
    var noLock = false

    @Option(help: "Compute and memoize only this shard of a sharded stage (a Slurm array task).")
    var shard: Int?

    @Flag(help: "Recompute the stage even when it is committed.")
    var force = false

    func run() async throws {
        let (engine, resolved) = try workflow.load()
        // The job's log is where a cluster user looks: print the stage's log lines
        // there, line by line, so they stay in order with the errors on stderr.
        setvbuf(stdout, nil, _IOLBF, 0)
        let progress = SlurmNodeProgress.writer(store: engine.store)
        let observer: RunObserver = { event in
            if case let .log(_, line) = event { print(line) }
            progress?(event)
        }
        do {
            if let shard {
                try await SlurmNode.executeShard(engine: engine, workflow: resolved, stage: stage, shard: shard,
                                                 expectedKey: key, observer: observer)
                print("shard \(shard) of '\(stage)' done")
                return
            }
            let record = try await engine.executeStage(resolved, stage: stage, expectedKey: key, takeLock: !noLock,
                                                       force: force, observer: observer)
            print(record.key)
        } catch let error as StageError {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }
}
