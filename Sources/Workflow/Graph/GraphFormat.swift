import Foundation

/// Renders a workflow's DAG as text, Graphviz dot or Mermaid.
public enum GraphFormat: String, CaseIterable, Sendable {
    case text, dot, mermaid

    public func render(_ workflow: ResolvedWorkflow) -> String {
        let graph = workflow.graph
        switch self {
        case .text:
            var lines: [String] = []
            for stage in graph.stages {
                let inputs = stage.inputs.sorted { $0.key < $1.key }.map { "\($0.key) ← \($0.value)" }
                lines.append("\(stage.id) (\(stage.kind.kind))" + (inputs.isEmpty ? "" : "\n    " + inputs.joined(separator: "\n    ")))
            }
            return lines.joined(separator: "\n")
        case .dot:
            var lines = ["digraph \"\(workflow.name)\" {", "  rankdir=LR;", "  node [shape=box];"]
            for stage in graph.stages { lines.append("  \"\(stage.id)\" [label=\"\(stage.id)\\n\(stage.kind.kind)\"];") }
            for stage in graph.stages {
                for (name, source) in stage.inputs.sorted(by: { $0.key < $1.key }) {
                    lines.append("  \"\(source.stage)\" -> \"\(stage.id)\" [label=\"\(source.output) → \(name)\"];")
                }
            }
            lines.append("}")
            return lines.joined(separator: "\n")
        case .mermaid:
            func node(_ id: String) -> String { "s_" + String(id.map { $0.isLetter || $0.isNumber ? $0 : "_" }) }
            var lines = ["flowchart LR"]
            for stage in graph.stages { lines.append("  \(node(stage.id))[\"\(stage.id)<br/>\(stage.kind.kind)\"]") }
            for stage in graph.stages {
                for (name, source) in stage.inputs.sorted(by: { $0.key < $1.key }) {
                    lines.append("  \(node(source.stage)) -- \"\(source.output) → \(name)\" --> \(node(stage.id))")
                }
            }
            return lines.joined(separator: "\n")
        }
    }
}
