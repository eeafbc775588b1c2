import Foundation
import Workflow

/// Finds a trained model's artefacts in a workflow's cache: the committed
/// output of the model reference (`deepssm-train.model`), and, following the
/// training stage's inputs, the loaders it was trained on, the PCA model and
/// the training cohort (the augmentation's `train` input).
public struct TrainedModelLocator {
    public let engine: Engine
    public let workflow: ResolvedWorkflow
    /// How the user ran the workflow (for the remedy in messages).
    public let runCommand: String

    public init(engine: Engine, workflow: ResolvedWorkflow, runCommand: String) {
        self.engine = engine
        self.workflow = workflow
        self.runCommand = runCommand
    }

    /// The artefact directories a model needs.
    public struct Artefacts {
        public var model: URL
        public var pca: URL
        public var trainingCohort: URL
    }

    /// Resolves `reference` (STAGE.OUTPUT). Throws `PlanError` (invalid input,
    /// exit 2) for a reference the workflow does not have, `StageFailure` for a
    /// model not trained yet.
    public func locate(_ reference: String) throws -> Artefacts {
        let parts = reference.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, let stage = workflow.graph[parts[0]] else {
            let ids = workflow.graph.ids.filter { workflow.graph[$0]?.kind.type.kind == "deepssm-train" }
            throw PlanError("'\(reference)' names no stage output of workflow '\(workflow.name)' (\(workflow.file)); use STAGE.OUTPUT of a deepssm-train stage: \(ids.map { "\($0).model" }.joined(separator: ", "))")
        }
        guard stage.kind.type.kind == "deepssm-train", stage.outputs.contains(parts[1]) else {
            throw PlanError("'\(reference)' is not a trained model: stage '\(stage.id)' is a '\(stage.kind.type.kind)' stage; name the 'model' output of a deepssm-train stage")
        }
        let model = try committed(ArtifactAddress(stage: stage.id, output: parts[1]), for: stage.id)
        guard let loadersAddress = stage.inputs["loaders"], let loaders = workflow.graph[loadersAddress.stage] else {
            throw PlanError("stage '\(stage.id)' reads no 'loaders'; connect it to a deepssm-loaders stage")
        }
        guard let pcaAddress = stage.inputs["pca"] ?? loaders.inputs["pca"] else {
            throw PlanError("neither '\(stage.id)' nor '\(loaders.id)' reads a 'pca' model; connect augment.pca to one of them")
        }
        guard let poolAddress = loaders.inputs["pool"], let augment = workflow.graph[poolAddress.stage],
              let trainAddress = augment.inputs["train"] else {
            throw PlanError("cannot find the training cohort of '\(stage.id)': '\(loaders.id)' reads no 'pool' from a stage with a 'train' input; connect deepssm-loaders.pool to augment.pool")
        }
        return Artefacts(model: model, pca: try committed(pcaAddress, for: stage.id),
                         trainingCohort: try committed(trainAddress, for: stage.id))
    }

    /// The cached directory of `address` under the workflow's current parameters.
    private func committed(_ address: ArtifactAddress, for target: String) throws -> URL {
        let plan = try engine.plan(workflow, options: RunOptions(until: target))
        guard let entry = plan.first(where: { $0.stage == address.stage }), entry.action == .cached,
              let key = entry.key, let record = engine.store.record(key), let artifact = record.outputs[address.output] else {
            throw StageFailure("'\(address)' of workflow '\(workflow.name)'\(workflow.profile.map { " (profile \($0))" } ?? "") is not in the cache \(engine.store.root.path) for these parameters; train it first: \(runCommand) --until \(target)")
        }
        return engine.store.objectURL(artifact.digest.hex)
    }
}
