import Foundation

/// What `${stage.param}` found.
enum StageParamLookup {
    case value(ParamValue)
    case noStage
    case noParam([String])
    /// The stage exists but its parameters have errors of their own (already reported).
    case unresolved
}

/// The result of substituting references in one value.
enum Substitution {
    case success(ParamValue)
    case failure(SpecIssue)
}

/// Substitutes `${params.NAME}` and `${STAGE.PARAM}` in parameter values. A
/// string that is exactly one reference takes the referenced value with its
/// type (`epochs: ${params.epochs}` stays an integer); a reference inside a
/// longer string is interpolated as text.
final class ReferenceResolver {
    private let shared: [String: Located<ParamValue>]
    private let file: String
    private var resolved: [String: ParamValue] = [:]
    private var resolving = Set<String>()
    /// Problems found in shared params while resolving them.
    private(set) var issues: [SpecIssue] = []

    init(shared: [String: Located<ParamValue>], file: String) {
        self.shared = shared
        self.file = file
    }

    /// Every shared param, substituted.
    func resolvedShared() -> [String: ParamValue] {
        var out: [String: ParamValue] = [:]
        for name in shared.keys.sorted() {
            if let value = sharedValue(name) { out[name] = value }
        }
        return out
    }

    private func sharedValue(_ name: String) -> ParamValue? {
        if let done = resolved[name] { return done }
        guard let entry = shared[name], !resolving.contains(name) else { return nil }
        resolving.insert(name)
        defer { resolving.remove(name) }
        switch substitute(entry.value, at: entry.location, in: "shared param '\(name)'", stageParam: { _, _ in .noStage }) {
        case .success(let value):
            resolved[name] = value
            return value
        case .failure(let issue):
            issues.append(issue)
            return nil
        }
    }

    func substitute(_ value: ParamValue, at location: SourceLocation, in owner: String,
                    stageParam: (String, String) -> StageParamLookup) -> Substitution {
        switch value {
        case .string(let text) where text.contains("${"):
            return substitute(text: text, at: location, in: owner, stageParam: stageParam)
        case .array(let items):
            var out: [ParamValue] = []
            for item in items {
                switch substitute(item, at: location, in: owner, stageParam: stageParam) {
                case .success(let v): out.append(v)
                case .failure(let issue): return .failure(issue)
                }
            }
            return .success(.array(out))
        case .object(let members):
            var out: [String: ParamValue] = [:]
            for (key, item) in members {
                switch substitute(item, at: location, in: owner, stageParam: stageParam) {
                case .success(let v): out[key] = v
                case .failure(let issue): return .failure(issue)
                }
            }
            return .success(.object(out))
        default:
            return .success(value)
        }
    }

    private func substitute(text: String, at location: SourceLocation, in owner: String,
                            stageParam: (String, String) -> StageParamLookup) -> Substitution {
        var pieces: [(literal: String, value: ParamValue?)] = []
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                return .failure(SpecIssue(location, "unterminated '${' in \(owner): '\(text)'; close it with '}'"))
            }
            pieces.append((String(rest[..<start.lowerBound]), nil))
            let reference = String(rest[start.upperBound..<end])
            switch lookup(reference, at: location, in: owner, stageParam: stageParam) {
            case .success(let v): pieces.append(("", v))
            case .failure(let issue): return .failure(issue)
            }
            rest = rest[rest.index(after: end)...]
        }
        pieces.append((String(rest), nil))
        let nonEmpty = pieces.filter { !$0.literal.isEmpty || $0.value != nil }
        if nonEmpty.count == 1, let only = nonEmpty[0].value { return .success(only) }
        let joined = pieces.map { piece -> String in
            if let v = piece.value { if case .string(let s) = v { return s } else { return v.description } }
            return piece.literal
        }.joined()
        return .success(.string(joined))
    }

    private func lookup(_ reference: String, at location: SourceLocation, in owner: String,
                        stageParam: (String, String) -> StageParamLookup) -> Substitution {
        let parts = reference.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2 else {
            return .failure(SpecIssue(location, "undefined reference '${\(reference)}' in \(owner); write '${params.NAME}' or '${STAGE.PARAM}'"))
        }
        if parts[0] == "params" {
            if let value = sharedValue(parts[1]) { return .success(value) }
            if resolving.contains(parts[1]) {
                return .failure(SpecIssue(location, "shared param '\(parts[1])' refers to itself through '${...}' in \(owner); break the loop"))
            }
            let names = shared.keys.sorted()
            return .failure(SpecIssue(location, "undefined reference '${\(reference)}' in \(owner): no shared param '\(parts[1])'\(didYouMean(parts[1], among: names)); define it under 'params:'"))
        }
        switch stageParam(parts[0], parts[1]) {
        case .value(let v): return .success(v)
        case .noStage:
            return .failure(SpecIssue(location, "undefined reference '${\(reference)}' in \(owner): no stage '\(parts[0])' and it is not 'params'; write '${params.NAME}' or '${STAGE.PARAM}'"))
        case .noParam(let names):
            return .failure(SpecIssue(location, "undefined reference '${\(reference)}' in \(owner): stage '\(parts[0])' has no parameter '\(parts[1])'\(didYouMean(parts[1], among: names))"))
        case .unresolved:
            return .failure(SpecIssue(location, "reference '${\(reference)}' in \(owner) cannot be resolved because stage '\(parts[0])' has errors of its own; fix those first"))
        }
    }
}
