import Workflow

/// Every stage kind of the femur DeepSSM pipeline, registered by the command line
/// next to the engine's built-in kinds.
public enum StageCatalog {
    public static let all: [any Stage.Type] = [
        FemurCohort.self,
        ShapeWorksFemur.self,
        Split.self,
        Augment.self,
        DeepSSMLoaders.self,
        DeepSSMTrain.self,
        DeepSSMPredict.self,
        DeepSSMAnalyze.self,
        DeepSSMInfer.self,
    ]

    /// Summarisers for `ssmflow cache show`, tried in order before the engine's plain one.
    public static let inspectors: [any ArtifactInspector] = [
        CohortInspector(),
        HDF5Inspector(),
    ]

    /// Writers of the reference's layouts for `ssmflow cache export`, tried in
    /// order before the engine's plain copy.
    public static let exporters: [any ArtifactExporter] = [
        AugmentPoolExporter(),
        CohortExporter(),
        ShapeWorksModelExporter(),
        ShapeWorksPredictionsExporter(),
    ]
}
