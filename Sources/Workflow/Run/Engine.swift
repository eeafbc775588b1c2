import Foundation

/// The library entry point: loads workflows, plans and runs them against a cache.
///
///     let engine = try Engine(registry: StageRegistry([MyStage.self]), cacheDirectory: dir)
///     let workflow = try engine.load(yaml: text, file: "wf.yaml")
///     let plan = try engine.plan(workflow)
///     let run = try await engine.run(workflow)   // RunRecord: per-stage outcomes, ranCount, cachedCount
public final class Engine: Sendable {
    public let registry: StageRegistry
    public let store: CacheStore
    public let executor: any Executor
    /// Seconds without a heartbeat after which another run's lock is considered stale.
    public let lockStaleAfter: TimeInterval
    /// The CPU cores this process may use (a cluster job's allocation), or nil for all of the machine's.
    public let cpuLimit: Int?

    public init(registry: StageRegistry, cacheDirectory: URL, executor: any Executor = LocalExecutor(),
                lockStaleAfter: TimeInterval = 60, cpuLimit: Int? = nil) throws {
        self.registry = registry
        self.store = try CacheStore(root: cacheDirectory)
        self.executor = executor
        self.lockStaleAfter = lockStaleAfter
        self.cpuLimit = cpuLimit
    }

    public var history: RunHistory { RunHistory(store: store) }

    // MARK: loading

    /// Parses and resolves YAML text (`WorkflowLoader`). Throws `SpecError` with every problem.
    public func load(yaml: String, file: String = "workflow.yaml", options: ResolveOptions = .init(),
                     directory: URL? = nil) throws -> ResolvedWorkflow {
        try WorkflowLoader(registry: registry).load(yaml: yaml, file: file, options: options, directory: directory)
    }

    /// Parses and resolves a workflow file (relative paths resolve against its directory).
    public func load(file url: URL, options: ResolveOptions = .init()) throws -> ResolvedWorkflow {
        try WorkflowLoader(registry: registry).load(file: url, options: options)
    }

    // MARK: planning

    /// The dry run: per stage, `run` / `cached` / `skip` and the reasons. Corrupt
    /// cache entries found on the way are reported through `onProblem` and left
    /// in place: planning never changes the cache.
    public func plan(_ workflow: ResolvedWorkflow, options: RunOptions = .init(),
                     onProblem: (String) -> Void = { _ in }) throws -> [PlannedStage] {
        try Planner(store: store, workflow: workflow).plan(options, onProblem: onProblem)
    }

    /// The key manifest `stage` would have now, or nil when an upstream stage is
    /// not cached (its output digests are unknown), with the previous record.
    public func currentManifest(_ workflow: ResolvedWorkflow, stage id: String) throws -> (now: KeyManifest?, previous: StageRecord?) {
        guard let stage = workflow.graph[id] else {
            throw PlanError("no stage '\(id)' in workflow '\(workflow.name)'\(didYouMean(id, among: workflow.graph.ids)); stages: \(workflow.graph.ids.joined(separator: ", "))")
        }
        let planner = Planner(store: store, workflow: workflow)
        let previous = store.lastKey(workflow: workflow.name, stage: id).flatMap { store.record($0) }
        let plan = try planner.plan(RunOptions(until: id), onProblem: { _ in })
        guard plan.first(where: { $0.stage == id })?.key != nil else { return (nil, previous) }
        var inputs: [String: String] = [:]
        for (name, address) in stage.inputs {
            guard let upKey = plan.first(where: { $0.stage == address.stage })?.key,
                  let record = store.record(upKey), let artifact = record.outputs[address.output] else { return (nil, previous) }
            inputs[name] = artifact.digest.hex
        }
        let manifest = try planner.manifest(stage, inputDigests: inputs)
        return (manifest, previous)
    }

    // MARK: running

    /// Runs what the plan needs, independent stages in parallel (up to
    /// `options.jobs`), and records the run under `runs/`. A failing stage does
    /// not throw: it is `failed` in the record and its dependants are `skipped`.
    /// Throws `PlanError` for options that do not fit the workflow.
    public func run(_ workflow: ResolvedWorkflow, options: RunOptions = .init(),
                    observer: @escaping RunObserver = { _ in }) async throws -> RunRecord {
        let started = Date()
        // The lease keeps 'cache gc' from removing what this run reads or writes.
        let lease = try await CacheLease.acquire(store, staleAfter: lockStaleAfter)
        defer { lease.release() }
        let planner = Planner(store: store, workflow: workflow)
        let (selected, mustBeCached) = try planner.selection(options)
        if options.only != nil { _ = try planner.plan(options, onProblem: { observer(.warning($0)) }) }
        // Checks that can fail before any work (a CUDA stage without a usable GPU).
        let environment = try preflight(workflow, planner: planner, options: options, selected: selected)
        var options = options
        if let concurrent = try await executor.prepare(workflow: workflow, store: store, options: options,
                                                       makePlan: { try planner.plan(options, onProblem: { observer(.warning($0)) }) },
                                                       observer: observer) {
            options.jobs = max(options.jobs, concurrent)
        }
        let scheduler = Scheduler(store: store, executor: executor, lockStaleAfter: lockStaleAfter, cpuLimit: cpuLimit,
                                  workflow: workflow, planner: planner, options: options,
                                  selected: selected, mustBeCached: mustBeCached, observer: observer)
        let summaries = await scheduler.runAll()
        var record = RunRecord(id: RunRecord.makeID(started), workflow: workflow.name, file: workflow.file,
                               startedAt: started, seconds: Date().timeIntervalSince(started),
                               profile: workflow.profile, overrides: workflow.overrides,
                               params: Dictionary(uniqueKeysWithValues: workflow.graph.stages.map { ($0.id, $0.params) }),
                               stages: workflow.graph.ids.compactMap { summaries[$0] })
        record.seconds = Date().timeIntervalSince(started)
        record.environment = environment
        await executor.finish(record, interrupted: Task.isCancelled || record.stages.contains { $0.outcome == .cancelled },
                              observer: observer)
        // The run's outcome stands even when its history cannot be written (a
        // full disk): the caller still prints the summary.
        do { try history.save(record) } catch {
            observer(.warning("the run record was not saved: \(StorageFault.describe(error, cache: store.root, stage: nil) ?? "\(error)")"))
        }
        finish(record, outputs: await scheduler.outputs, observer: observer)
        return record
    }

    /// The registry's preflight checks on the stages this run will compute; nil
    /// when no check concerns them. A failed check is a `PlanError`: no stage starts.
    private func preflight(_ workflow: ResolvedWorkflow, planner: Planner, options: RunOptions,
                           selected: Set<String>) throws -> [String: String]? {
        let concerned = workflow.graph.stages.filter { stage in
            selected.contains(stage.id) && registry.preflights.contains { $0.concerns(kind: stage.kind.kind, params: stage.params) }
        }
        guard !concerned.isEmpty else { return nil }
        let toRun = Set(try planner.plan(options, onProblem: { _ in }).filter { $0.action == .run }.map(\.stage))
        let stages = concerned.filter { toRun.contains($0.id) }
            .map { PreflightStage(id: $0.id, kind: $0.kind.kind, params: $0.params) }
        guard !stages.isEmpty else { return nil }
        var facts: [String: String] = [:]
        for check in registry.preflights {
            do {
                facts.merge(try check.check(stages.filter { check.concerns(kind: $0.kind, params: $0.params) }),
                            uniquingKeysWith: { first, _ in first })
            } catch let error as PlanError {
                throw error
            } catch {
                throw PlanError("before running \(stages.map(\.id).joined(separator: ", ")): \(error)")
            }
        }
        return facts
    }

    private func finish(_ run: RunRecord, outputs: [String: [String: StoredArtifact]], observer: RunObserver) {
        guard !registry.finishers.isEmpty else { return }
        var artifacts: [ArtifactAddress: URL] = [:]
        for (stage, outs) in outputs {
            for (name, artifact) in outs { artifacts[ArtifactAddress(stage: stage, output: name)] = store.objectURL(artifact.digest.hex) }
        }
        let dir = history.directory(of: run.id)
        for finisher in registry.finishers {
            do {
                for line in try finisher.finish(run: run, artifacts: artifacts, runDirectory: dir) { observer(.note(line)) }
            } catch {
                observer(.warning("run finisher \(type(of: finisher)) failed: \(StorageFault.describe(error, cache: store.root, stage: nil) ?? "\(error)")"))
            }
        }
    }

    /// Runs one stage whose upstream stages are all cached, in this process,
    /// and commits it: what `ssmflow exec-stage` does on a cluster node.
    /// `expectedKey`, when given, must match the key computed here; `force`
    /// recomputes a stage that is already committed.
    public func executeStage(_ workflow: ResolvedWorkflow, stage id: String, expectedKey: String? = nil,
                             takeLock: Bool = true, force: Bool = false, observer: @escaping RunObserver = { _ in }) async throws -> StageRecord {
        let lease = try await CacheLease.acquire(store, staleAfter: lockStaleAfter)
        defer { lease.release() }
        let (manifest, _) = try currentManifest(workflow, stage: id)
        guard let manifest, let stage = workflow.graph[id] else {
            throw PlanError("stage '\(id)' cannot run alone: an upstream stage is not cached; run 'ssmflow run --until \(id)' instead")
        }
        if let expectedKey, expectedKey != manifest.key {
            throw PlanError("stage '\(id)' has key \(manifest.key.prefix(12)) here but \(expectedKey.prefix(12)) was requested; the workflow or its inputs differ between the submitting and the executing machine")
        }
        let lock = takeLock ? try await CacheLock.acquire(key: manifest.key, in: store.locksDirectory, staleAfter: lockStaleAfter) : nil
        defer { lock?.release() }
        if !force, let record = store.record(manifest.key) { return record }
        let job = try makeJob(workflow, stage: stage, manifest: manifest)
        let record = try await executor.execute(job, store: store, observer: observer)
        try store.setLastKey(record.key, workflow: workflow.name, stage: id)
        return record
    }

    /// A job for `stage`; `jobs` stages run at once and share the CPU cores.
    public func makeJob(_ workflow: ResolvedWorkflow, stage: ResolvedStage, manifest: KeyManifest, jobs: Int = 1) -> StageJob {
        StageJob(workflow: workflow, stage: stage, manifest: manifest, store: store, cpuLimit: cpuLimit, jobs: jobs)
    }
}
