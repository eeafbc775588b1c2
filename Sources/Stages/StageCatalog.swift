import Workflow

/// Every stage kind of the femur DeepSSM pipeline, registered by the command line
/// next to the engine's built-in kinds.
public enum StageCatalog {
    public static let all: [any Stage.Type] = [Augment.self]
}
