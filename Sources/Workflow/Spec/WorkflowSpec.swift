import Foundation
import Yams

/// A value from the workflow file with the position it was written at.
public struct Located<Value: Sendable>: Sendable {
    public var value: Value
    public var location: SourceLocation
}

/// One entry of `stages:` as written.
public struct StageSpec: Sendable {
    public var id: String
    public var location: SourceLocation
    /// The stage kind (`uses:`).
    public var uses: Located<String>?
    /// Parameters as written, before references, overrides and defaults.
    public var params: [String: Located<ParamValue>]
    /// Input name → `stage.output`, in file order.
    public var inputs: [(name: String, ref: Located<String>)]
    /// `resources:` as written (merged over the executor's defaults when a job is made).
    public var resources: JobResources?
}

/// A workflow file as written: parsed and checked for shape, not yet resolved.
public struct WorkflowSpec: Sendable {
    public var name: String
    /// The file (or a label for YAML given as a string), used in messages.
    public var file: String
    public var params: [String: Located<ParamValue>]
    /// Stages in file order.
    public var stages: [StageSpec]
    /// Profile name → `STAGE.PARAM` → value.
    public var profiles: [String: [String: Located<ParamValue>]]
    /// `cache: {dir: ...}` if given, relative to the workflow file.
    public var cacheDirectory: String?
    /// `executor:`, or the local executor when absent.
    public var executor = ExecutorSpec()
    /// Shape problems found while parsing; the resolver reports them together
    /// with its own, so a user sees every problem at once.
    public var issues: [SpecIssue] = []

    static let topLevelKeys = ["workflow", "params", "stages", "profiles", "cache", "executor"]
    static let stageKeys = ["uses", "params", "inputs", "resources"]

    /// Parses YAML text. Throws `SpecError` only when the text is not YAML or not
    /// a mapping; other shape problems are kept in `issues`.
    public static func parse(yaml: String, file: String) throws -> WorkflowSpec {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw SpecError([yamlIssue(error, file: file)])
        }
        var issues: [SpecIssue] = []
        func loc(_ node: Node) -> SourceLocation {
            SourceLocation(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
        }
        guard let root, let top = root.mapping else {
            throw SpecError([SpecIssue(SourceLocation(file: file, line: 1, column: 1),
                                       "a workflow file must be a mapping with 'workflow', 'params' and 'stages'")])
        }
        var spec = WorkflowSpec(name: "", file: file, params: [:], stages: [], profiles: [:], cacheDirectory: nil)
        for (keyNode, value) in top {
            let key = keyNode.string ?? ""
            switch key {
            case "workflow":
                if let name = value.scalar?.string, !name.isEmpty { spec.name = name }
                else { issues.append(SpecIssue(loc(value), "'workflow' must be a name, e.g. 'workflow: femur-deepssm'")) }
            case "params":
                spec.params = locatedMapping(value, file: file, what: "'params'", issues: &issues)
            case "stages":
                guard let stages = value.mapping else {
                    issues.append(SpecIssue(loc(value), "'stages' must be a mapping of stage id to '{uses: KIND, params: ..., inputs: ...}'"))
                    continue
                }
                for (idNode, body) in stages {
                    if let stage = parseStage(id: idNode, body: body, file: file, issues: &issues) {
                        spec.stages.append(stage)
                    }
                }
            case "profiles":
                guard let profiles = value.mapping else {
                    issues.append(SpecIssue(loc(value), "'profiles' must be a mapping of profile name to '{STAGE.PARAM: value}'"))
                    continue
                }
                for (nameNode, body) in profiles {
                    spec.profiles[nameNode.string ?? ""] = locatedMapping(body, file: file, what: "profile '\(nameNode.string ?? "")'", issues: &issues)
                }
            case "cache":
                if let dir = value.mapping?["dir"]?.string { spec.cacheDirectory = dir }
                else { issues.append(SpecIssue(loc(value), "'cache' takes 'dir: PATH' (the cache directory, relative to the workflow file)")) }
            case "executor":
                spec.executor = ExecutorSpec.parse(value, file: file, issues: &issues)
            default:
                issues.append(SpecIssue(loc(keyNode), "unknown top-level key '\(key)'\(didYouMean(key, among: topLevelKeys)) (allowed: \(topLevelKeys.joined(separator: ", ")))"))
            }
        }
        if top["workflow"] == nil {
            issues.append(SpecIssue(loc(root), "missing 'workflow: NAME' at the top of the file"))
        }
        if top["stages"] == nil {
            issues.append(SpecIssue(loc(root), "missing 'stages:'; a workflow needs at least one stage"))
        }
        spec.issues = issues
        return spec
    }

    /// Reads and parses a workflow file.
    public static func load(_ url: URL) throws -> WorkflowSpec {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw SpecError([SpecIssue(nil, "no workflow file at '\(url.path)'; check the path")])
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw SpecError([SpecIssue(nil, "cannot read workflow file '\(url.path)': \(error.localizedDescription)")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            let (location, byte) = firstInvalidUTF8(data, file: url.path)
            throw SpecError([SpecIssue(location, "the workflow file is not UTF-8 text: byte 0x\(String(byte, radix: 16, uppercase: true)) at line \(location.line), column \(location.column) is not valid UTF-8; save the file as UTF-8 (is it a workflow YAML file?)")])
        }
        return try parse(yaml: text, file: url.path)
    }

    /// Where the first byte that is not valid UTF-8 lies (1-based line and
    /// column, counted in characters before it), and the byte.
    static func firstInvalidUTF8(_ data: Data, file: String) -> (SourceLocation, UInt8) {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = data.makeIterator()
        var line = 1, column = 1, offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                offset += encoded.count
                if encoded.count == 1 && encoded.first == 0x0A { line += 1; column = 1 } else { column += 1 }
            case .error:
                return (SourceLocation(file: file, line: line, column: column), data[data.startIndex + offset])
            case .emptyInput:
                return (SourceLocation(file: file, line: line, column: column), 0)
            }
        }
    }

    private static func parseStage(id idNode: Node, body: Node, file: String, issues: inout [SpecIssue]) -> StageSpec? {
        let idLoc = SourceLocation(file: file, line: idNode.mark?.line ?? 0, column: idNode.mark?.column ?? 0)
        let id = idNode.string ?? ""
        if id.isEmpty || id.contains(".") || id.contains(" ") || id.contains("/") {
            issues.append(SpecIssue(idLoc, "stage id '\(id)' must be a non-empty name without '.', '/' or spaces"))
        }
        guard let mapping = body.mapping else {
            issues.append(SpecIssue(idLoc, "stage '\(id)' must be a mapping with 'uses', 'params' and 'inputs'"))
            return nil
        }
        var stage = StageSpec(id: id, location: idLoc, uses: nil, params: [:], inputs: [])
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? ""
            let location = SourceLocation(file: file, line: value.mark?.line ?? 0, column: value.mark?.column ?? 0)
            switch key {
            case "uses":
                if let kind = value.scalar?.string { stage.uses = Located(value: kind, location: location) }
                else { issues.append(SpecIssue(location, "'uses' of stage '\(id)' must be a stage kind name")) }
            case "params":
                stage.params = locatedMapping(value, file: file, what: "'params' of stage '\(id)'", issues: &issues)
            case "inputs":
                guard let inputs = value.mapping else {
                    issues.append(SpecIssue(location, "'inputs' of stage '\(id)' must map input names to 'STAGE.OUTPUT'"))
                    continue
                }
                for (nameNode, refNode) in inputs {
                    let refLoc = SourceLocation(file: file, line: refNode.mark?.line ?? 0, column: refNode.mark?.column ?? 0)
                    if let ref = refNode.scalar?.string {
                        stage.inputs.append((nameNode.string ?? "", Located(value: ref, location: refLoc)))
                    } else {
                        issues.append(SpecIssue(refLoc, "input '\(nameNode.string ?? "")' of stage '\(id)' must be 'STAGE.OUTPUT'"))
                    }
                }
            case "resources":
                stage.resources = JobResources.parse(value, what: "'resources' of stage '\(id)'", file: file, issues: &issues)
            default:
                let keyLoc = SourceLocation(file: file, line: keyNode.mark?.line ?? 0, column: keyNode.mark?.column ?? 0)
                issues.append(SpecIssue(keyLoc, "unknown key '\(key)' in stage '\(id)'\(didYouMean(key, among: stageKeys)) (allowed: \(stageKeys.joined(separator: ", ")))"))
            }
        }
        if stage.uses == nil, mapping["uses"] == nil {
            issues.append(SpecIssue(idLoc, "stage '\(id)' has no 'uses: KIND'; name the stage kind it runs"))
        }
        return stage
    }

    private static func locatedMapping(_ node: Node, file: String, what: String,
                                       issues: inout [SpecIssue]) -> [String: Located<ParamValue>] {
        guard let mapping = node.mapping else {
            if node.null == nil {
                issues.append(SpecIssue(SourceLocation(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0),
                                        "\(what) must be a mapping of names to values"))
            }
            return [:]
        }
        var out: [String: Located<ParamValue>] = [:]
        for (keyNode, value) in mapping {
            let location = SourceLocation(file: file, line: value.mark?.line ?? 0, column: value.mark?.column ?? 0)
            out[keyNode.string ?? ""] = Located(value: ParamValue(yaml: value), location: location)
        }
        return out
    }

    static func yamlIssue(_ error: YamlError, file: String) -> SpecIssue {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            let ctx = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            return SpecIssue(at(mark), "malformed YAML: \(problem)\(ctx); fix the syntax at this position")
        case let .duplicatedKeysInMapping(duplicates, context):
            let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return SpecIssue(at(context.mark), "duplicate key \(names); stage ids and keys must be unique, rename or remove one")
        case let .reader(problem, offset, _, _):
            return SpecIssue(SourceLocation(file: file, line: 1, column: 1),
                             "unreadable YAML: \(problem)\(offset.map { " at byte \($0)" } ?? ""); save the file as UTF-8")
        default:
            return SpecIssue(nil, "malformed YAML: \(error)")
        }
    }
}

extension ParamValue {
    /// A value tree from a YAML node, typed by YAML's core schema (quoted scalars are strings).
    init(yaml node: Node) {
        switch node {
        case .scalar(let scalar):
            switch Resolver.default.resolveTag(of: node) {
            case .null: self = .null
            case .bool: self = node.bool.map(ParamValue.bool) ?? .string(scalar.string)
            case .int: self = node.int.map(ParamValue.int) ?? .string(scalar.string)
            case .float: self = node.float.map(ParamValue.double) ?? .string(scalar.string)
            default: self = .string(scalar.string)
            }
        case .mapping(let mapping):
            var members: [String: ParamValue] = [:]
            for (key, value) in mapping { members[key.string ?? ""] = ParamValue(yaml: value) }
            self = .object(members)
        case .sequence(let sequence):
            self = .array(sequence.map { ParamValue(yaml: $0) })
        case .alias:
            self = .null
        }
    }

    /// A value from a `--set` right-hand side, typed as a YAML scalar (`60`, `1e-4`, `true`, `adam`).
    public init(yamlScalar text: String) {
        if let node = try? Yams.compose(yaml: text) { self = ParamValue(yaml: node) }
        else { self = .string(text) }
    }
}
