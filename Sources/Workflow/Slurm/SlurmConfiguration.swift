import Foundation
import Yams

/// The cluster part of a workflow file: the `executor:` block and each stage's
/// `resources:`. None of it is part of a stage key.
///
/// ```yaml
/// executor: slurm                      # or the long form:
/// executor:
///   kind: slurm
///   setup: ["module load swift/6.3"]   # shell lines before ssmflow in every job
///   resources: {cpus: 2, mem: 8G, time: "2:00:00"}   # every job's default
/// stages:
///   train:
///     uses: deepssm-train
///     resources: {gpus: 1, partition: gpu, time: "12:00:00"}
/// ```
public struct SlurmConfiguration: Sendable, Equatable {
    /// The executors a workflow may choose.
    public static let executors = ["local", "slurm"]
    static let executorKeys = ["kind", "setup", "resources"]

    /// `local` (the default) or `slurm`.
    public var executor: String
    /// Shell lines each job runs before `ssmflow` (module loads, a virtual environment).
    public var setup: [String]
    /// Resources of every job unless its stage's `resources:` says otherwise.
    public var defaults: SlurmResources
    /// Stage id → its `resources:` as written (not yet merged with `defaults`).
    public var stages: [String: SlurmResources]

    public init(executor: String = "local", setup: [String] = [], defaults: SlurmResources = .init(),
                stages: [String: SlurmResources] = [:]) {
        self.executor = executor
        self.setup = setup
        self.defaults = defaults
        self.stages = stages
    }

    /// What the job of stage `id` asks for: its own values over the defaults.
    public func resources(for id: String) -> SlurmResources {
        (stages[id] ?? SlurmResources()).merged(over: defaults)
    }

    /// Reads `executor:` and every `stages.*.resources:` of a workflow file.
    /// Throws `SpecError` with every problem, positioned.
    public static func parse(yaml: String, file: String) throws -> SlurmConfiguration {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch let error as YamlError {
            throw SpecError([WorkflowSpec.yamlIssue(error, file: file)])
        }
        var config = SlurmConfiguration()
        var issues: [SpecIssue] = []
        func at(_ node: Node) -> SourceLocation {
            SourceLocation(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
        }
        guard let top = root?.mapping else { return config }

        if let executor = top["executor"] {
            var kindNode = executor
            if let name = executor.scalar?.string {
                config.executor = name
            } else if let block = executor.mapping {
                for (keyNode, value) in block {
                    let key = keyNode.string ?? ""
                    switch key {
                    case "kind":
                        config.executor = value.scalar?.string ?? ""
                        kindNode = value
                    case "setup":
                        if let lines = value.sequence?.compactMap(\.scalar?.string), lines.count == value.sequence?.count {
                            config.setup = lines
                        } else if let line = value.scalar?.string {
                            config.setup = [line]
                        } else {
                            issues.append(SpecIssue(at(value), "'executor.setup' must be a list of shell lines, e.g. [\"module load swift\"]"))
                        }
                    case "resources":
                        config.defaults = resources(value, what: "'executor.resources'", at: at, issues: &issues)
                    default:
                        issues.append(SpecIssue(at(keyNode), "unknown key '\(key)' in 'executor'\(didYouMean(key, among: executorKeys)) (allowed: \(executorKeys.joined(separator: ", ")))"))
                    }
                }
            } else {
                issues.append(SpecIssue(at(executor), "'executor' must be 'local', 'slurm' or a mapping with 'kind', 'setup' and 'resources'"))
            }
            if !executors.contains(config.executor) {
                issues.append(SpecIssue(at(kindNode), "unknown executor '\(config.executor)'\(didYouMean(config.executor, among: executors)) (known: \(executors.joined(separator: ", ")))"))
            }
        }

        for (idNode, body) in top["stages"]?.mapping ?? [:] {
            guard let id = idNode.string, let value = body.mapping?["resources"] else { continue }
            config.stages[id] = resources(value, what: "'resources' of stage '\(id)'", at: at, issues: &issues)
        }
        if !issues.isEmpty { throw SpecError(issues) }
        return config
    }

    /// Reads a workflow file's cluster settings.
    public static func load(_ url: URL) throws -> SlurmConfiguration {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw SpecError([SpecIssue(nil, "cannot read workflow file '\(url.path)': \(error.localizedDescription)")])
        }
        return try parse(yaml: text, file: url.path)
    }

    private static func resources(_ node: Node, what: String, at: (Node) -> SourceLocation,
                                  issues: inout [SpecIssue]) -> SlurmResources {
        guard let mapping = node.mapping else {
            issues.append(SpecIssue(at(node), "\(what) must be a mapping such as {cpus: 4, mem: 16G, time: \"2:00:00\"}"))
            return SlurmResources()
        }
        var known = true
        for (keyNode, _) in mapping {
            let key = keyNode.string ?? ""
            if !SlurmResources.keyNames.contains(key) {
                issues.append(SpecIssue(at(keyNode), "unknown key '\(key)' in \(what)\(didYouMean(key, among: SlurmResources.keyNames)) (allowed: \(SlurmResources.keyNames.joined(separator: ", ")))"))
                known = false
            }
        }
        guard known else { return SlurmResources() }
        do {
            let resources = try YAMLDecoder().decode(SlurmResources.self, from: node)
            issues += resources.validate().map { SpecIssue(at(node), "\(what): \($0)") }
            return resources
        } catch {
            issues.append(SpecIssue(at(node), "\(what) has a value of the wrong type (\(Self.describe(error))); write e.g. {cpus: 4, mem: 16G, gpus: 1, time: \"2:00:00\", partition: gpu, sbatch: [\"--qos=short\"]}"))
            return SlurmResources()
        }
    }

    private static func describe(_ error: Error) -> String {
        if case let DecodingError.typeMismatch(_, context) = error {
            return "'\(context.codingPath.map(\.stringValue).joined(separator: "."))' " + context.debugDescription
        }
        return "\(error)"
    }
}
