import Foundation
import Workflow

/// The cluster part of a resolved workflow, as the Slurm executor uses it: the
/// `executor:` block and each stage's `resources:`. `WorkflowSpec` parses and
/// validates both (so `ssmflow plan` reports their problems, positioned); none
/// of it is part of a stage key.
public struct SlurmConfiguration: Sendable, Equatable {
    /// `local` (the default) or `slurm`.
    public var executor: String
    /// Shell lines each job runs before `ssmflow` (module loads, a virtual environment).
    public var setup: [String]
    /// Resources of every job unless its stage's `resources:` says otherwise.
    public var defaults: JobResources
    /// Stage id → its `resources:` as written (not yet merged with `defaults`).
    public var stages: [String: JobResources]

    public init(executor: String = "local", setup: [String] = [], defaults: JobResources = .init(),
                stages: [String: JobResources] = [:]) {
        self.executor = executor
        self.setup = setup
        self.defaults = defaults
        self.stages = stages
    }

    /// The cluster settings of a resolved workflow.
    public init(_ workflow: ResolvedWorkflow) {
        var stages: [String: JobResources] = [:]
        for stage in workflow.graph.stages where stage.resources != JobResources() { stages[stage.id] = stage.resources }
        self.init(executor: workflow.executor.kind, setup: workflow.executor.setup,
                  defaults: workflow.executor.resources, stages: stages)
    }

    /// What the job of stage `id` asks for: its own values over the defaults.
    public func resources(for id: String) -> JobResources {
        (stages[id] ?? JobResources()).merged(over: defaults)
    }
}
