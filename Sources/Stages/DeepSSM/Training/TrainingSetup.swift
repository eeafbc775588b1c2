import TorchKit
import Workflow

/// What both variants of `deepssm-train` start from: the loaders' splits and
/// normalisation, checked against each other, and libtorch set up on the
/// resolved device (threads, determinism).
struct TrainingSetup {
    let loaders: LoaderArtifact
    let normalization: LoaderNormalization
    let train: BatchReader
    let validation: BatchReader
    let shape: InputShape
    let device: TorchDevice

    init(_ params: DeepSSMTrain.Params, context: StageContext) throws {
        loaders = LoaderArtifact(try context.input("loaders"))
        normalization = try loaders.normalization()
        train = try loaders.reader(.train, batchSize: params.batch_size, shuffle: true, seed: UInt64(params.seed))
        validation = try loaders.reader(.validation, batchSize: params.batch_size)
        shape = try DeepSSMTrain.checkLoaders(train: train, validation: validation, normalization: normalization)
        do {
            device = try Torch.resolve(TorchDevice(rawValue: params.device) ?? .auto)
            _ = try DeepSSMNetwork.flattenedSize(for: shape)
            try Torch.setThreads(params.threads > 0 ? params.threads : max(context.threads, 1))
            // CUDA's max-pool backward has no deterministic kernel: warn there, fail nowhere.
            try Torch.setDeterministic(params.deterministic, warnOnly: device == .cuda)
        } catch let error as TorchError {
            throw StageFailure(error.message)
        }
    }
}
