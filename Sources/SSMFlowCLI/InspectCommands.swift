import ArgumentParser
import Foundation
import Workflow

/// `ssmflow status`.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "What the last run of a workflow did, and what is stale now.",
        discussion: "Example:\n  ssmflow status workflows/femur_deepssm.yaml"
    )

    @OptionGroup var workflow: WorkflowOptions

    func run() async throws {
        let (engine, resolved) = try workflow.load()
        if let last = engine.history.all().last(where: { $0.workflow == resolved.name }) {
            print("last run \(last.id) (\(ISO8601DateFormatter().string(from: last.startedAt)), \(formatSeconds(last.seconds))): \(last.ranCount) ran, \(last.cachedCount) cached, \(last.failedCount) failed")
            print(summaryTable(last))
        } else {
            print("workflow '\(resolved.name)' has not run with this cache (\(engine.store.root.path))")
        }
        let plan = try engine.plan(resolved, onProblem: { printError("warning: \($0)") })
        let stale = plan.filter { $0.action == .run }
        print("")
        if stale.isEmpty {
            print("up to date: every stage is cached")
        } else {
            print("stale now (\(stale.count) of \(plan.count)):")
            print(table(["stage", "why"], stale.map { ["  " + $0.stage, $0.reasons.joined(separator: "; ")] }))
        }
    }
}

/// `ssmflow dag`.
struct DagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dag",
        abstract: "Print the workflow's stage graph.",
        discussion: """
        Examples:
          ssmflow dag workflows/femur_deepssm.yaml
          ssmflow dag workflows/femur_deepssm.yaml --format dot | dot -Tsvg > dag.svg
          ssmflow dag workflows/femur_deepssm.yaml --format mermaid
        """
    )

    @OptionGroup var workflow: WorkflowOptions

    @Option(help: "text, dot or mermaid.")
    var format: String = "text"

    func validate() throws {
        guard GraphFormat(rawValue: format) != nil else {
            throw ValidationError("unknown --format '\(format)'; use text, dot or mermaid")
        }
    }

    func run() async throws {
        let (_, resolved) = try workflow.load()
        print(GraphFormat(rawValue: format)!.render(resolved))
    }
}

/// `ssmflow explain`.
struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Every ingredient of a stage's key now vs. in its cached record, side by side.",
        discussion: "Example:\n  ssmflow explain workflows/femur_deepssm.yaml deepssm-train --set deepssm-train.epochs=60"
    )

    @OptionGroup var workflow: WorkflowOptions

    @Argument(help: "The stage id.")
    var stage: String

    func run() async throws {
        let (engine, resolved) = try workflow.load()
        let (now, previous) = try engine.currentManifest(resolved, stage: stage)
        let old = previous?.manifest
        guard let current = resolved.graph[stage] else { return }
        var rows: [[String]] = []
        func row(_ name: String, _ a: String?, _ b: String?) {
            let mark = a == b ? " " : "*"
            rows.append([mark, name, a ?? "-", b ?? "-"])
        }
        row("cache schema", String(KeyManifest.currentSchema), old.map { String($0.schema) })
        row("kind", current.kind.kind, old?.kind)
        row("kind version", String(current.kind.version), old.map { String($0.kindVersion) })
        let pNow = current.params.flattened(), pOld = old?.params.flattened() ?? [:]
        for path in Set(pNow.keys).union(pOld.keys).sorted() {
            row("param \(path)", pNow[path]?.description, pOld[path]?.description)
        }
        let inputs = Set(current.inputs.keys).union(old?.inputs.keys.map { $0 } ?? []).sorted()
        for name in inputs {
            let source = current.inputs[name]?.description ?? previous?.inputSources[name]?.description ?? "?"
            let nowDigest = now?.inputs[name].map { String($0.prefix(12)) } ?? (current.inputs[name] != nil ? "(upstream not cached)" : nil)
            row("input \(name) ← \(source)", nowDigest, old?.inputs[name].map { String($0.prefix(12)) })
        }
        for path in Set(now?.files.keys.map { $0 } ?? []).union(old?.files.keys.map { $0 } ?? []).sorted() {
            row("file \(path)", now?.files[path].map { String($0.prefix(12)) }, old?.files[path].map { String($0.prefix(12)) })
        }
        row("key", now.map { String($0.key.prefix(16)) } ?? "(unknown until upstream runs)", previous.map { String($0.key.prefix(16)) })
        print("stage '\(stage)' (kind '\(current.kind.kind)'): now vs. last cached record\(previous.map { " from \(ISO8601DateFormatter().string(from: $0.startedAt))" } ?? " (none)")")
        print(table([" ", "ingredient", "now", "cached"], rows))
        if let now, engine.store.record(now.key) != nil {
            print("→ cached: the current key has a record")
        } else {
            print("→ runs: \(rows.filter { $0[0] == "*" }.count) ingredient(s) differ (marked *)")
        }
    }
}

/// `ssmflow kinds`.
struct KindsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kinds",
        abstract: "List the stage kinds a workflow can use, with their parameters and ports.",
        discussion: "Example:\n  ssmflow kinds"
    )

    func run() throws {
        let registry = makeRegistry()
        for name in registry.names {
            let kind = registry[name]!
            print("\(name) (version \(kind.version)): \(kind.summary)")
            if let defaults = try? kind.defaults(), !defaults.members.isEmpty {
                let optional = kind.optionalParameters.map { "\($0) (optional)" }
                print("  params: " + (defaults.members.keys.sorted().map { "\($0)=\(defaults.members[$0]!)" } + optional).joined(separator: ", "))
            }
            if !kind.type.inputs.isEmpty { print("  inputs: " + kind.type.inputs.map { $0.name + ($0.isOptional ? "?" : "") }.joined(separator: ", ")) }
            if !kind.type.outputs.isEmpty { print("  outputs: " + kind.type.outputs.map(\.name).joined(separator: ", ")) }
        }
    }
}
