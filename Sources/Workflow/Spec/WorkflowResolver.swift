import Foundation

/// How a workflow is instantiated: profile and `--set` overrides.
public struct ResolveOptions: Sendable {
    /// A profile of the workflow's `profiles:` (e.g. `tiny`).
    public var profile: String?
    /// `STAGE.PARAM=VALUE` or `params.NAME=VALUE`; the value is a YAML scalar.
    public var overrides: [String]

    public init(profile: String? = nil, overrides: [String] = []) {
        self.profile = profile
        self.overrides = overrides
    }
}

/// Turns a `WorkflowSpec` into a `ResolvedWorkflow`: kinds looked up, profile
/// and overrides applied, `${...}` references substituted, parameters decoded
/// and validated, inputs checked, the DAG built. Every problem is collected and
/// thrown at once as a `SpecError`.
public struct WorkflowResolver {
    public var registry: StageRegistry

    public init(registry: StageRegistry) { self.registry = registry }

    public func resolve(_ spec: WorkflowSpec, options: ResolveOptions = .init(),
                        directory: URL) throws -> ResolvedWorkflow {
        var issues: [SpecIssue] = spec.issues
        let stageIDs = spec.stages.map(\.id)
        let specsByID = Dictionary(spec.stages.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let fileStart = SourceLocation(file: spec.file, line: 1, column: 1)

        // Overrides: profile first, then --set (the command line wins).
        var shared = spec.params
        var stageOverrides: [String: [String: Located<ParamValue>]] = [:]
        func applyOverride(_ path: String, _ value: Located<ParamValue>, origin: String) {
            let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else {
                issues.append(SpecIssue(value.location, "\(origin) '\(path)' must be 'STAGE.PARAM' or 'params.NAME'"))
                return
            }
            if parts[0] == "params" {
                shared[parts[1]] = value
            } else if specsByID[parts[0]] != nil {
                stageOverrides[parts[0], default: [:]][parts[1]] = value
            } else {
                issues.append(SpecIssue(value.location, "\(origin) '\(path)' names no stage '\(parts[0])'\(didYouMean(parts[0], among: stageIDs + ["params"]))"))
            }
        }
        if let profile = options.profile {
            if let entries = spec.profiles[profile] {
                for (path, value) in entries.sorted(by: { $0.key < $1.key }) { applyOverride(path, value, origin: "profile '\(profile)' sets") }
            } else {
                let known = spec.profiles.keys.sorted()
                issues.append(SpecIssue(nil, "unknown profile '\(profile)'\(didYouMean(profile, among: known)); \(known.isEmpty ? "the workflow defines no profiles" : "profiles: \(known.joined(separator: ", "))")"))
            }
        }
        for text in options.overrides {
            let location = SourceLocation(file: "--set", line: 1, column: 1)
            guard let eq = text.firstIndex(of: "=") else {
                issues.append(SpecIssue(nil, "--set '\(text)' must be 'STAGE.PARAM=VALUE'"))
                continue
            }
            applyOverride(String(text[..<eq]), Located(value: ParamValue(yamlScalar: String(text[text.index(after: eq)...])), location: location), origin: "--set")
        }

        // Shared params may reference each other.
        let references = ReferenceResolver(shared: shared, file: spec.file)

        // Parameters per stage, resolved on demand so `${stage.param}` can read
        // another stage's resolved value (defaults included).
        var resolved: [String: ParamValue] = [:]
        var kinds: [String: StageKind] = [:]
        var failed = Set<String>()
        var inProgress = Set<String>()

        func resolveStage(_ id: String) -> ParamValue? {
            if let done = resolved[id] { return done }
            if failed.contains(id) { return nil }
            guard let stage = specsByID[id] else { return nil }
            guard !inProgress.contains(id) else {
                issues.append(SpecIssue(stage.location, "parameters of stage '\(id)' refer back to themselves through '${...}'; break the reference loop"))
                failed.insert(id)
                return nil
            }
            inProgress.insert(id)
            defer { inProgress.remove(id) }
            guard let uses = stage.uses else { failed.insert(id); return nil }
            guard let kind = registry[uses.value] else {
                issues.append(SpecIssue(uses.location, "unknown stage kind '\(uses.value)' in stage '\(id)'\(didYouMean(uses.value, among: registry.names)); known kinds: \(registry.names.joined(separator: ", "))"))
                failed.insert(id)
                return nil
            }
            kinds[id] = kind
            let defaults: ParamValue
            do { defaults = try kind.defaults() } catch {
                preconditionFailure("defaults of stage kind '\(kind.kind)' do not encode: \(error)")
            }
            let known = (Array(defaults.members.keys) + kind.optionalParameters).sorted()
            var raw = stage.params
            for (key, value) in stageOverrides[id] ?? [:] { raw[key] = value }
            var overlay: [String: ParamValue] = [:]
            var ok = true
            for (key, value) in raw.sorted(by: { $0.key < $1.key }) {
                guard defaults.members[key] != nil || kind.optionalParameters.contains(key) else {
                    issues.append(SpecIssue(value.location, "unknown parameter '\(key)' for stage '\(id)' (kind '\(kind.kind)')\(didYouMean(key, among: known)); parameters: \(known.joined(separator: ", "))"))
                    ok = false
                    continue
                }
                switch references.substitute(value.value, at: value.location, in: "stage '\(id)'", stageParam: { stageRef, param in
                    guard specsByID[stageRef] != nil else { return .noStage }
                    guard let params = resolveStage(stageRef) else { return .unresolved }
                    return params.members[param].map { .value($0) } ?? .noParam(params.members.keys.sorted())
                }) {
                case .success(let v):
                    if let bad = v.firstNonFinite {
                        issues.append(SpecIssue(value.location, "parameter '\(key)' of stage '\(id)' is \(bad); a parameter must be a finite number"))
                        ok = false
                    } else {
                        overlay[key] = v
                    }
                case .failure(let issue): issues.append(issue); ok = false
                }
            }
            guard ok else { failed.insert(id); return nil }
            let merged = defaults.overlaid(with: .object(overlay))
            do {
                let (params, problems) = try kind.resolve(merged)
                for problem in problems {
                    let location = raw[problem.parameter]?.location ?? stage.location
                    issues.append(SpecIssue(location, "parameter '\(problem.parameter)' of stage '\(id)': \(problem.message)"))
                }
                if !problems.isEmpty { failed.insert(id); return nil }
                resolved[id] = params
                return params
            } catch let error as DecodingError {
                issues.append(decodingIssue(error, stage: stage, kind: kind, raw: raw, merged: merged))
                failed.insert(id)
                return nil
            } catch {
                issues.append(SpecIssue(stage.location, "parameters of stage '\(id)' do not decode: \(error)"))
                failed.insert(id)
                return nil
            }
        }

        for id in stageIDs { _ = resolveStage(id) }

        // Inputs and outputs.
        var stages: [ResolvedStage] = []
        let directoryPath = directory
        for spec in spec.stages {
            guard let kind = kinds[spec.id], let params = resolved[spec.id] else { continue }
            let connected = spec.inputs.map(\.name)
            let ports = kind.inputs(params: params, connected: connected)
            var inputs: [String: ArtifactAddress] = [:]
            for (name, ref) in spec.inputs {
                guard ports.contains(where: { $0.name == name }) else {
                    issues.append(SpecIssue(ref.location, "stage '\(spec.id)' (kind '\(kind.kind)') has no input '\(name)'\(didYouMean(name, among: ports.map(\.name))); inputs: \(ports.map(\.name).joined(separator: ", "))"))
                    continue
                }
                let parts = ref.value.split(separator: ".", maxSplits: 1).map(String.init)
                guard parts.count == 2 else {
                    issues.append(SpecIssue(ref.location, "input '\(name)' of stage '\(spec.id)' is '\(ref.value)'; write it as 'STAGE.OUTPUT'"))
                    continue
                }
                guard let producer = specsByID[parts[0]] else {
                    issues.append(SpecIssue(ref.location, "stage '\(spec.id)' reads '\(ref.value)' but no stage '\(parts[0])' exists\(didYouMean(parts[0], among: stageIDs)); stages: \(stageIDs.joined(separator: ", "))"))
                    continue
                }
                if let producerKind = kinds[producer.id], let producerParams = resolved[producer.id] {
                    let outputs = producerKind.outputs(params: producerParams).map(\.name)
                    guard outputs.contains(parts[1]) else {
                        issues.append(SpecIssue(ref.location, "stage '\(spec.id)' reads '\(ref.value)' but stage '\(producer.id)' (kind '\(producerKind.kind)') has no output '\(parts[1])'\(didYouMean(parts[1], among: outputs)); outputs: \(outputs.joined(separator: ", "))"))
                        continue
                    }
                }
                inputs[name] = ArtifactAddress(stage: parts[0], output: parts[1])
            }
            for port in ports where !port.isOptional && !connected.contains(port.name) {
                issues.append(SpecIssue(spec.location, "stage '\(spec.id)' (kind '\(kind.kind)') needs input '\(port.name)'\(port.summary.isEmpty ? "" : " (\(port.summary))"); connect it under 'inputs:' as '\(port.name): STAGE.OUTPUT'"))
            }
            var files: [String: URL] = [:]
            for path in kind.externalFiles(params: params) {
                let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : directoryPath.appendingPathComponent(path)
                if !FileManager.default.fileExists(atPath: url.path) {
                    issues.append(SpecIssue(spec.params["files"]?.location ?? spec.location, "stage '\(spec.id)' reads file '\(path)' but there is none at '\(url.path)'; fix the path (relative to the workflow file)"))
                }
                files[path] = url
            }
            stages.append(ResolvedStage(id: spec.id, kind: kind, params: params, inputs: inputs,
                                        outputs: kind.outputs(params: params).map(\.name), files: files,
                                        location: spec.location, resources: spec.resources ?? JobResources()))
        }
        if !registry.executorKinds.contains(spec.executor.kind) {
            let known = registry.executorKinds
            issues.append(SpecIssue(spec.executor.location, "unknown executor '\(spec.executor.kind)'\(didYouMean(spec.executor.kind, among: known)) (known: \(known.joined(separator: ", ")))"))
        }
        if spec.stages.isEmpty, !issues.contains(where: { $0.message.hasPrefix("missing 'stages:'") }) { issues.append(SpecIssue(fileStart, "'stages' is empty; add at least one stage")) }
        issues.append(contentsOf: references.issues)
        if !issues.isEmpty { throw SpecError(issues) }
        let graph = try StageGraph(stages: stages)
        return ResolvedWorkflow(name: spec.name, file: spec.file, directory: directory, graph: graph,
                                sharedParams: references.resolvedShared(), profile: options.profile,
                                overrides: options.overrides,
                                cacheDirectory: spec.cacheDirectory.map { directory.appendingPathComponent($0) },
                                executor: spec.executor)
    }

    private func decodingIssue(_ error: DecodingError, stage: StageSpec, kind: StageKind,
                               raw: [String: Located<ParamValue>], merged: ParamValue) -> SpecIssue {
        let context: DecodingError.Context
        var expected = ""
        switch error {
        case let .typeMismatch(type, c): context = c; expected = typeName(type)
        case let .valueNotFound(type, c): context = c; expected = typeName(type)
        case let .keyNotFound(_, c): context = c
        case let .dataCorrupted(c): context = c
        @unknown default: return SpecIssue(stage.location, "parameters of stage '\(stage.id)' do not decode: \(error)")
        }
        let path = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
        let top = path.first ?? ""
        let location = raw[top]?.location ?? stage.location
        var value: ParamValue? = merged
        for component in path {
            if case .object(let m) = value { value = m[component] }
            else if case .array(let a) = value, let i = Int(component), a.indices.contains(i) { value = a[i] }
            else { value = nil }
        }
        let name = path.joined(separator: ".")
        if !expected.isEmpty, let value {
            return SpecIssue(location, "parameter '\(name)' of stage '\(stage.id)' must be \(expected), not \(value.typeName) (\(value)); fix the value")
        }
        return SpecIssue(location, "parameter '\(name)' of stage '\(stage.id)' is invalid: \(context.debugDescription.prefix(1).lowercased() + context.debugDescription.dropFirst()); fix the value")
    }

    private func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int32.Type, is Int64.Type, is UInt.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is Bool.Type: return "a boolean (true or false)"
        case is String.Type: return "a string"
        default:
            let text = String(describing: type)
            if text.hasPrefix("Array") { return "a list" }
            if text.hasPrefix("Dictionary") { return "a mapping" }
            return "a \(text)"
        }
    }
}
