import Foundation

/// Executes a workflow's stages in dependency order, up to `jobs` at once:
/// each stage's key is computed from its inputs' actual digests once they are
/// known (so a rerun that reproduces its bytes cuts off early), looked up,
/// locked, run and committed.
actor Scheduler {
    let store: CacheStore
    let executor: any Executor
    let lockStaleAfter: TimeInterval
    let cpuLimit: Int?
    let workflow: ResolvedWorkflow
    let planner: Planner
    let options: RunOptions
    let selected: Set<String>
    let mustBeCached: Set<String>
    let observer: RunObserver

    /// Outputs of stages that ran or were cached in this run.
    private(set) var outputs: [String: [String: StoredArtifact]] = [:]
    private var summaries: [String: StageRunSummary] = [:]

    init(store: CacheStore, executor: any Executor, lockStaleAfter: TimeInterval, cpuLimit: Int?, workflow: ResolvedWorkflow, planner: Planner, options: RunOptions,
         selected: Set<String>, mustBeCached: Set<String>, observer: @escaping RunObserver) {
        self.store = store
        self.executor = executor
        self.lockStaleAfter = lockStaleAfter
        self.cpuLimit = cpuLimit
        self.workflow = workflow
        self.planner = planner
        self.options = options
        self.selected = selected
        self.mustBeCached = mustBeCached
        self.observer = observer
    }

    func runAll() async -> [String: StageRunSummary] {
        let graph = workflow.graph
        var pending = graph.stages.filter { selected.contains($0.id) || mustBeCached.contains($0.id) }
        for stage in graph.stages where !selected.contains(stage.id) && !mustBeCached.contains(stage.id) {
            finish(StageRunSummary(stage: stage.id, kind: stage.kind.kind, outcome: .skipped,
                                   reasons: [options.outsideSelection.description],
                                   key: nil, seconds: 0, metrics: [:], error: nil), announce: false)
        }
        await withTaskGroup(of: (StageRunSummary, [String: StoredArtifact]?).self) { group in
            var running = 0
            while !pending.isEmpty || running > 0 {
                // Start every stage whose inputs are settled, within the job limit.
                var index = 0
                while index < pending.count, running < options.jobs {
                    let stage = pending[index]
                    let deps = graph.dependencies[stage.id] ?? []
                    guard deps.allSatisfy({ summaries[$0] != nil }) else { index += 1; continue }
                    pending.remove(at: index)
                    if let blocked = deps.sorted().first(where: { outputs[$0] == nil }) {
                        let why = summaries[blocked]!.outcome == .cancelled ? "cancelled" : "skipped"
                        finish(StageRunSummary(stage: stage.id, kind: stage.kind.kind,
                                               outcome: why == "cancelled" ? .cancelled : .skipped,
                                               reasons: [RerunReason.inputMissing(stage: blocked, outcome: summaries[blocked]!.outcome.rawValue).description],
                                               key: nil, seconds: 0, metrics: [:], error: nil))
                        index = 0
                        continue
                    }
                    if Task.isCancelled {
                        finish(StageRunSummary(stage: stage.id, kind: stage.kind.kind, outcome: .cancelled,
                                               reasons: [RerunReason.interrupted.description], key: nil, seconds: 0, metrics: [:], error: nil))
                        index = 0
                        continue
                    }
                    let inputDigests = stage.inputs.mapValues { outputs[$0.stage]![$0.output]!.digest.hex }
                    running += 1
                    group.addTask { [self] in await self.process(stage, inputDigests: inputDigests) }
                }
                guard running > 0 else {
                    // Every pending stage's inputs are pending too: impossible in
                    // a DAG whose selection is closed upstream.
                    precondition(pending.isEmpty || pending.contains { stage in
                        (graph.dependencies[stage.id] ?? []).allSatisfy { summaries[$0] != nil }
                    }, "scheduler stalled with \(pending.map(\.id))")
                    continue
                }
                if let (summary, outs) = await group.next() {
                    running -= 1
                    if let outs { outputs[summary.stage] = outs }
                    finish(summary)
                }
            }
        }
        return summaries
    }

    private func finish(_ summary: StageRunSummary, announce: Bool = true) {
        summaries[summary.stage] = summary
        if announce { observer(.finished(summary)) }
    }

    /// Looks a stage up, and runs it when needed; never throws.
    nonisolated private func process(_ stage: ResolvedStage, inputDigests: [String: String]) async -> (StageRunSummary, [String: StoredArtifact]?) {
        let start = Date()
        func summary(_ outcome: StageOutcome, _ reasons: [RerunReason], key: String?, metrics: [String: Double] = [:], error: String? = nil) -> StageRunSummary {
            StageRunSummary(stage: stage.id, kind: stage.kind.kind, outcome: outcome, reasons: reasons.map(\.description), key: key,
                            seconds: Date().timeIntervalSince(start), metrics: metrics, error: error)
        }
        let forced = options.forceAll || options.force.contains(stage.id)
        let warn: (String) -> Void = { [observer] in observer(.warning($0)) }
        do {
            var assessment = try planner.assess(stage, inputDigests: inputDigests, pendingUpstream: [], forced: forced,
                                                verifyFully: options.verifyFully, onProblem: warn)
            if assessment.action == .cached, let record = assessment.record {
                try? store.setLastKey(record.key, workflow: workflow.name, stage: stage.id)
                return (summary(.cached, assessment.reasons, key: record.key, metrics: record.metrics), record.outputs)
            }
            let manifest = assessment.manifest!
            if mustBeCached.contains(stage.id) {
                return (summary(.failed, assessment.reasons, key: manifest.key,
                                error: "stage '\(stage.id)' is not cached and --only does not run it"), nil)
            }
            observer(.started(stage: stage.id, reasons: assessment.reasons.map(\.description)))
            let lock = try await CacheLock.acquire(key: manifest.key, in: store.locksDirectory, staleAfter: lockStaleAfter,
                                                   onWait: { [observer] in observer(.waiting(stage: stage.id, holder: $0.description)) })
            defer { lock.release() }
            // Another run may have committed this key while we waited for the lock.
            if !forced, let record = store.record(manifest.key) {
                // Problems were reported by the first assessment already.
                assessment = try planner.assess(stage, inputDigests: inputDigests, pendingUpstream: [], forced: false,
                                                verifyFully: options.verifyFully, onProblem: { _ in })
                if assessment.action == .cached {
                    try? store.setLastKey(record.key, workflow: workflow.name, stage: stage.id)
                    return (summary(.cached, [.committedByAnotherRun], key: record.key, metrics: record.metrics), record.outputs)
                }
            }
            let job = StageJob(workflow: workflow, stage: stage, manifest: manifest, store: store,
                               cpuLimit: cpuLimit, jobs: options.jobs)
            let record = try await executor.execute(job, store: store, observer: observer)
            try store.setLastKey(record.key, workflow: workflow.name, stage: stage.id)
            return (summary(.ran, assessment.reasons, key: record.key, metrics: record.metrics), record.outputs)
        } catch is CancellationError {
            return (summary(.cancelled, [.interruptedNothingCommitted], key: nil), nil)
        } catch let error as StageError {
            return (summary(.failed, [], key: nil, error: error.message), nil)
        } catch {
            // Storing outputs, writing the record or taking the lock: a full or
            // failing disk is told in words, with the cache path and free space.
            return (summary(.failed, [], key: nil, error: StorageFault.describe(error, cache: store.root, stage: nil) ?? "\(error)"), nil)
        }
    }
}
