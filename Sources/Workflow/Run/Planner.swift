import Foundation

/// The assessment of one stage against the cache.
struct Assessment {
    var action: PlanAction
    var reasons: [RerunReason]
    var manifest: KeyManifest?
    var record: StageRecord?
    /// Outputs found corrupt or missing, or an unreadable record (left in place).
    var problems: [RerunReason] = []
}

/// Decides, stage by stage, between a cache hit and a run, with the reason in
/// values. Reads the cache, never changes it.
struct Planner {
    let store: CacheStore
    let workflow: ResolvedWorkflow

    /// Stage ids the options select, and the upstream ids that must be cached (`--only`).
    func selection(_ options: RunOptions) throws -> (selected: Set<String>, mustBeCached: Set<String>) {
        let graph = workflow.graph
        for (flag, id) in [("--until", options.until), ("--only", options.only)] {
            if let id, graph[id] == nil {
                throw PlanError("\(flag) '\(id)' names no stage of workflow '\(workflow.name)'\(didYouMean(id, among: graph.ids)); stages: \(graph.ids.joined(separator: ", "))")
            }
        }
        for id in options.force.sorted() where graph[id] == nil {
            throw PlanError("--force '\(id)' names no stage of workflow '\(workflow.name)'\(didYouMean(id, among: graph.ids)); stages: \(graph.ids.joined(separator: ", "))")
        }
        if let only = options.only {
            let upstream = graph.upstreamClosure(of: [only]).subtracting([only])
            return ([only], upstream)
        }
        if let until = options.until { return (graph.upstreamClosure(of: [until]), []) }
        return (Set(graph.ids), [])
    }

    /// Digests of the external files a stage reads.
    func fileDigests(_ stage: ResolvedStage) throws -> [String: String] {
        var out: [String: String] = [:]
        for (path, url) in stage.files {
            do { out[path] = try ArtifactDigest.of(url).hex } catch {
                throw StageFailure("stage '\(stage.id)' reads file '\(path)' but it cannot be hashed: \(error)")
            }
        }
        return out
    }

    /// The key manifest of `stage` for these input digests: the one place a
    /// stage key's ingredients are put together (planning, running, explain).
    func manifest(_ stage: ResolvedStage, inputDigests: [String: String], files: [String: String]? = nil) throws -> KeyManifest {
        KeyManifest(kind: stage.kind.kind, kindVersion: stage.kind.version, params: stage.kind.keyed(stage.params),
                    inputs: inputDigests, files: try files ?? fileDigests(stage))
    }

    /// Assesses `stage` given its inputs' digests (nil when some upstream reruns,
    /// naming it in `pendingUpstream`).
    func assess(_ stage: ResolvedStage, inputDigests: [String: String]?, pendingUpstream: [String],
                forced: Bool, verifyFully: Bool, onProblem: (String) -> Void) throws -> Assessment {
        let files = try fileDigests(stage)
        // Read only when the reasons need it: a hit costs one record read.
        var previous: StageRecord? { store.lastKey(workflow: workflow.name, stage: stage.id).flatMap { store.record($0) } }
        guard let inputDigests else {
            var reasons: [RerunReason] = [.neverRun]
            if let previous = previous {
                reasons = differences(stage, now: nil, files: files, previous: previous).filter { !$0.isInputChange }
                reasons += pendingUpstream.map { .upstreamReruns(stage: $0) }
            }
            return Assessment(action: .run, reasons: reasons, manifest: nil, record: nil)
        }
        let manifest = try manifest(stage, inputDigests: inputDigests, files: files)
        let key = manifest.key
        // Read only: the planner never changes the cache (plan and status are
        // dry). A run that recomputes a damaged entry replaces it.
        switch store.lookupRecord(key) {
        case .absent:
            break
        case .unreadable(let why):
            let problem = RerunReason.recordUnreadable(stage: stage.id, why: why)
            onProblem("stage '\(stage.id)': \(problem); the run recomputes it")
            return Assessment(action: .run, reasons: [problem], manifest: manifest, record: nil, problems: [problem])
        case .found(let record):
            var problems: [RerunReason] = []
            for name in record.outputs.keys.sorted() {
                let artifact = record.outputs[name]!
                switch store.verify(artifact, full: verifyFully) {
                case .ok: continue
                case .missing: problems.append(.outputMissing(stage: stage.id, output: name))
                case .corrupt(let why): problems.append(.outputCorrupt(stage: stage.id, output: name, why: why))
                }
            }
            if !problems.isEmpty {
                for problem in problems { onProblem("stage '\(stage.id)': \(problem); the run recomputes it") }
                return Assessment(action: .run, reasons: problems, manifest: manifest, record: nil, problems: problems)
            }
            if forced { return Assessment(action: .run, reasons: [.forced], manifest: manifest, record: record) }
            return Assessment(action: .cached, reasons: [.unchanged], manifest: manifest, record: record)
        }
        if forced { return Assessment(action: .run, reasons: [.forced], manifest: manifest, record: nil) }
        guard let previous = previous else {
            return Assessment(action: .run, reasons: [.neverRun], manifest: manifest, record: nil)
        }
        var reasons = differences(stage, now: manifest, files: files, previous: previous)
        if reasons.isEmpty {
            reasons = previous.key == key ? [.recordMissing]
                                          : [.schemaChanged(from: previous.manifest.schema, to: manifest.schema)]
        }
        return Assessment(action: .run, reasons: reasons, manifest: manifest, record: nil)
    }

    /// Readable differences between the current ingredients and a previous record.
    func differences(_ stage: ResolvedStage, now: KeyManifest?, files: [String: String], previous: StageRecord) -> [RerunReason] {
        var reasons: [RerunReason] = []
        let old = previous.manifest
        if old.kind != stage.kind.kind { reasons.append(.kindChanged(from: old.kind, to: stage.kind.kind)) }
        else if old.kindVersion != stage.kind.version { reasons.append(.versionChanged(from: old.kindVersion, to: stage.kind.version)) }
        let before = old.params.flattened(), after = stage.params.flattened()
        for path in Set(before.keys).union(after.keys).sorted() where before[path]?.canonical != after[path]?.canonical {
            let from = before[path].map(\.description) ?? "(unset)", to = after[path].map(\.description) ?? "(unset)"
            reasons.append(.paramChanged(path: "\(stage.id).\(path)", from: from, to: to))
        }
        if let now {
            for name in Set(old.inputs.keys).union(now.inputs.keys).sorted() where old.inputs[name] != now.inputs[name] {
                let source = stage.inputs[name]?.description ?? previous.inputSources[name]?.description ?? name
                reasons.append(.inputChanged(source: source))
            }
        }
        for path in Set(old.files.keys).union(files.keys).sorted() where old.files[path] != files[path] {
            reasons.append(.fileChanged(path: path))
        }
        return reasons
    }

    /// The dry run: per stage, `run` / `cached` / `skip` and why.
    func plan(_ options: RunOptions, onProblem: (String) -> Void) throws -> [PlannedStage] {
        let (selected, mustBeCached) = try selection(options)
        var outputs: [String: [String: StoredArtifact]] = [:]
        var reruns = Set<String>()
        var planned: [PlannedStage] = []
        for stage in workflow.graph.stages {
            guard selected.contains(stage.id) || mustBeCached.contains(stage.id) else {
                planned.append(PlannedStage(stage: stage.id, kind: stage.kind.kind, action: .skip,
                                            reasons: [options.outsideSelection.description], key: nil))
                continue
            }
            var digests: [String: String]? = [:]
            var pending: [String] = []
            for (name, address) in stage.inputs.sorted(by: { $0.key < $1.key }) {
                if reruns.contains(address.stage) {
                    digests = nil
                    if !pending.contains(address.stage) { pending.append(address.stage) }
                } else if let artifact = outputs[address.stage]?[address.output] {
                    digests?[name] = artifact.digest.hex
                }
            }
            let forced = options.forceAll || options.force.contains(stage.id)
            let assessment = try assess(stage, inputDigests: digests, pendingUpstream: pending, forced: forced && selected.contains(stage.id),
                                        verifyFully: options.verifyFully, onProblem: onProblem)
            if mustBeCached.contains(stage.id), assessment.action == .run {
                throw PlanError("--only \(options.only!) reads from stage '\(stage.id)', which is not cached (\(assessment.reasons.map(\.description).joined(separator: "; "))); run with --until \(options.only!) instead")
            }
            if assessment.action == .run { reruns.insert(stage.id) }
            if let record = assessment.record, assessment.action == .cached { outputs[stage.id] = record.outputs }
            planned.append(PlannedStage(stage: stage.id, kind: stage.kind.kind, action: assessment.action,
                                        reasons: assessment.reasons.map(\.description), key: assessment.manifest?.key))
        }
        return planned
    }
}
