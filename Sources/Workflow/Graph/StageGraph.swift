import Foundation

/// The DAG of a workflow: stages in a topological order that keeps file order
/// where the edges allow it.
public struct StageGraph: Sendable {
    /// Stages, topologically sorted.
    public private(set) var stages: [ResolvedStage]
    private var index: [String: Int]
    /// Stage id → ids of the stages it reads from.
    public private(set) var dependencies: [String: Set<String>]
    /// Stage id → ids of the stages that read from it.
    public private(set) var dependents: [String: Set<String>]

    /// Orders `stages` (in file order) topologically. Throws `SpecError` naming
    /// each cycle as a path `a -> b -> c -> a`.
    public init(stages: [ResolvedStage]) throws {
        var deps: [String: Set<String>] = [:]
        var dependents: [String: Set<String>] = [:]
        for stage in stages {
            deps[stage.id] = Set(stage.inputs.values.map(\.stage))
            for up in deps[stage.id]! { dependents[up, default: []].insert(stage.id) }
        }
        // Cycle detection by depth-first search, reporting the path.
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        var path: [String] = []
        var cycles: [SpecIssue] = []
        let byID = Dictionary(stages.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func visit(_ id: String) {
            state[id] = 1
            path.append(id)
            for up in byID[id].map({ $0.inputs.values.map(\.stage).sorted() }) ?? [] where byID[up] != nil {
                if state[up] == 1 {
                    let cycle = Array(path[path.lastIndex(of: up)!...]) + [up]
                    // An edge a -> b means b reads a: print in data-flow order.
                    let flow = cycle.reversed().joined(separator: " -> ")
                    cycles.append(SpecIssue(byID[up]!.location, "cycle between stages: \(flow); a stage cannot read, directly or indirectly, its own output — remove one of these inputs"))
                } else if state[up] == nil {
                    visit(up)
                }
            }
            path.removeLast()
            state[id] = 2
        }
        for stage in stages where state[stage.id] == nil { visit(stage.id) }
        if !cycles.isEmpty { throw SpecError(cycles) }

        // Kahn's algorithm, picking the earliest stage in file order each time.
        var remaining = deps
        var order: [ResolvedStage] = []
        var placed = Set<String>()
        while order.count < stages.count {
            guard let next = stages.first(where: { !placed.contains($0.id) && remaining[$0.id]!.isEmpty }) else { break }
            order.append(next)
            placed.insert(next.id)
            for down in dependents[next.id] ?? [] { remaining[down]?.remove(next.id) }
        }
        self.stages = order
        self.index = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1.id, $0) })
        self.dependencies = deps
        self.dependents = dependents
    }

    public subscript(id: String) -> ResolvedStage? { index[id].map { stages[$0] } }

    public var ids: [String] { stages.map(\.id) }

    /// `ids` and everything upstream of them.
    public func upstreamClosure(of ids: Set<String>) -> Set<String> {
        var seen = Set<String>()
        var stack = Array(ids)
        while let id = stack.popLast() {
            guard seen.insert(id).inserted else { continue }
            stack.append(contentsOf: dependencies[id] ?? [])
        }
        return seen
    }

    /// `ids` and everything downstream of them.
    public func downstreamClosure(of ids: Set<String>) -> Set<String> {
        var seen = Set<String>()
        var stack = Array(ids)
        while let id = stack.popLast() {
            guard seen.insert(id).inserted else { continue }
            stack.append(contentsOf: dependents[id] ?? [])
        }
        return seen
    }
}
