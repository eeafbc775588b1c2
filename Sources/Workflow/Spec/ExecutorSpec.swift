import Foundation
import Yams

/// The `executor:` block of a workflow file: where stages run and what every
/// job asks for by default. None of it is part of a stage key.
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
public struct ExecutorSpec: Sendable, Equatable {
    /// `local` (the default) or an executor kind the registry knows (`slurm`).
    public var kind: String
    /// Shell lines each job runs before `ssmflow` (module loads, a virtual environment).
    public var setup: [String]
    /// Resources of every job unless its stage's `resources:` says otherwise.
    public var resources: JobResources
    /// Where the kind was written, for the resolver's message about an unknown kind.
    public var location: SourceLocation?

    public init(kind: String = "local", setup: [String] = [], resources: JobResources = .init(),
                location: SourceLocation? = nil) {
        self.kind = kind
        self.setup = setup
        self.resources = resources
        self.location = location
    }

    static let keys = ["kind", "setup", "resources"]

    /// Reads an `executor:` node; problems go to `issues`, positioned.
    static func parse(_ node: Node, file: String, issues: inout [SpecIssue]) -> ExecutorSpec {
        func at(_ node: Node) -> SourceLocation {
            SourceLocation(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
        }
        var spec = ExecutorSpec(location: at(node))
        if let name = node.scalar?.string {
            spec.kind = name
        } else if let block = node.mapping {
            for (keyNode, value) in block {
                let key = keyNode.string ?? ""
                switch key {
                case "kind":
                    spec.kind = value.scalar?.string ?? ""
                    spec.location = at(value)
                case "setup":
                    if let lines = value.sequence?.compactMap(\.scalar?.string), lines.count == value.sequence?.count {
                        spec.setup = lines
                    } else if let line = value.scalar?.string {
                        spec.setup = [line]
                    } else {
                        issues.append(SpecIssue(at(value), "'executor.setup' must be a list of shell lines, e.g. [\"module load swift\"]"))
                    }
                case "resources":
                    spec.resources = JobResources.parse(value, what: "'executor.resources'", file: file, issues: &issues)
                default:
                    issues.append(SpecIssue(at(keyNode), "unknown key '\(key)' in 'executor'\(didYouMean(key, among: keys)) (allowed: \(keys.joined(separator: ", ")))"))
                }
            }
        } else {
            issues.append(SpecIssue(at(node), "'executor' must be an executor kind such as 'local' or 'slurm', or a mapping with 'kind', 'setup' and 'resources'"))
        }
        return spec
    }
}

extension JobResources {
    /// Reads a `resources:` node; problems go to `issues`, positioned.
    static func parse(_ node: Node, what: String, file: String, issues: inout [SpecIssue]) -> JobResources {
        let at = SourceLocation(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
        guard let mapping = node.mapping else {
            issues.append(SpecIssue(at, "\(what) must be a mapping such as {cpus: 4, mem: 16G, time: \"2:00:00\"}"))
            return JobResources()
        }
        var known = true
        for (keyNode, _) in mapping {
            let key = keyNode.string ?? ""
            if !keyNames.contains(key) {
                let keyAt = SourceLocation(file: file, line: keyNode.mark?.line ?? 0, column: keyNode.mark?.column ?? 0)
                issues.append(SpecIssue(keyAt, "unknown key '\(key)' in \(what)\(didYouMean(key, among: keyNames)) (allowed: \(keyNames.joined(separator: ", ")))"))
                known = false
            }
        }
        guard known else { return JobResources() }
        do {
            let resources = try YAMLDecoder().decode(JobResources.self, from: node)
            issues += resources.validate().map { SpecIssue(at, "\(what): \($0)") }
            return resources
        } catch {
            issues.append(SpecIssue(at, "\(what) has a value of the wrong type (\(describe(error))); write e.g. {cpus: 4, mem: 16G, gpus: 1, time: \"2:00:00\", partition: gpu, sbatch: [\"--qos=short\"]}"))
            return JobResources()
        }
    }

    private static func describe(_ error: Error) -> String {
        if case let DecodingError.typeMismatch(_, context) = error {
            return "'\(context.codingPath.map(\.stringValue).joined(separator: "."))' " + context.debugDescription
        }
        return "\(error)"
    }
}
