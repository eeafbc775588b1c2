import Foundation
import HDF5Kit
import TorchKit
import Workflow

/// `deepssm-train`: trains the DeepSSM network (spec §4) on the loaders
/// artifact, with every epoch's checkpoint memoized so that raising `epochs`
/// resumes, lowering it reuses a stored epoch, and a killed run resumes from
/// its last finished epoch.
public struct DeepSSMTrain: Stage {
    public static let kind = "deepssm-train"
    public static let version = 1
    public static let summary = "train the DeepSSM network to regress whitened PCA scores from images"
    public static let inputs = [Port("loaders", "deepssm-loaders output: train/val/test splits and normalization")]
    public static let outputs = [
        Port("model", "best_model.h5 and final_model.h5 (state_dict-named HDF5), normalization.json, training.json"),
        Port("log", "training_log.csv: one row per epoch"),
        Port("curve", "training_curve.png: train and validation error per epoch"),
    ]

    public struct Params: StageParameters {
        public var learning_rate = 1e-4
        public var epochs = 50
        public var batch_size = 8
        /// Validate every `val_freq` epochs.
        public var val_freq = 1
        /// StepLR: multiply the learning rate by `decay_gamma` after every epoch.
        public var decay_lr = false
        public var decay_gamma = 0.99
        public var seed = 1
        /// `cpu`, `cuda`, or `auto` (CUDA when this libtorch has it and a GPU is visible).
        public var device = "auto"
        /// libtorch threads; 0 takes the engine's share for this stage.
        public var threads = 0
        /// Deterministic algorithms: on the CPU, same inputs give the same weights
        /// (on CUDA, where max-pool backward has no deterministic kernel, runs
        /// are close but not bit-identical).
        public var deterministic = true
        /// Logarithmic error axis in the training curve.
        public var log_scale = true

        public init() {}

        public func validate() -> [ParameterIssue] {
            var issues: [ParameterIssue] = []
            if !(learning_rate > 0) { issues.append(.init("learning_rate", "must be positive, got \(learning_rate)")) }
            if epochs < 1 { issues.append(.init("epochs", "must be at least 1, got \(epochs)")) }
            if batch_size < 1 { issues.append(.init("batch_size", "must be at least 1, got \(batch_size)")) }
            if val_freq < 1 { issues.append(.init("val_freq", "must be at least 1, got \(val_freq)")) }
            if !(decay_gamma > 0 && decay_gamma <= 1) {
                issues.append(.init("decay_gamma", "must be in (0, 1], got \(decay_gamma)"))
            }
            if seed < 0 { issues.append(.init("seed", "must be non-negative, got \(seed)")) }
            if TorchDevice(rawValue: device) == nil {
                issues.append(.init("device", "'\(device)' is not a device; use cpu, cuda or auto"))
            }
            if threads < 0 { issues.append(.init("threads", "must be 0 (automatic) or more, got \(threads)")) }
            return issues
        }

        /// The learning rate of epoch `epoch` (1-based) under the StepLR schedule.
        func learningRate(epoch: Int) -> Double {
            decay_lr ? learning_rate * pow(decay_gamma, Double(epoch - 1)) : learning_rate
        }
    }

    public init() {}

    // Parameters that do not change the weights of a given epoch.
    static let memoIgnored: Set<String> = ["epochs", "log_scale"]

    public func run(_ params: Params, context: StageContext) async throws {
        let loaders = try context.input("loaders")
        let normalization = try LoaderNormalization(contentsOf: loaders.appendingPathComponent("normalization.json"))
        let train = try BatchReader(url: loaders.appendingPathComponent("train.h5"), batchSize: params.batch_size,
                                    shuffle: true, seed: UInt64(params.seed))
        let validation = try BatchReader(url: loaders.appendingPathComponent("val.h5"),
                                         batchSize: params.batch_size, shuffle: false)
        let shape = try Self.checkLoaders(train: train, validation: validation, normalization: normalization)

        let device: TorchDevice
        do {
            device = try Torch.resolve(TorchDevice(rawValue: params.device) ?? .auto)
            _ = try DeepSSMNetwork.flattenedSize(for: shape)
            try Torch.setThreads(params.threads > 0 ? params.threads : max(context.threads, 1))
            // CUDA's max-pool backward has no deterministic kernel: warn there, fail nowhere.
            try Torch.setDeterministic(params.deterministic, warnOnly: device == .cuda)
        } catch let error as TorchError {
            throw StageFailure(error.message)
        }
        context.log("training on \(device.rawValue) (libtorch \(Torch.version), \(Torch.threads) thread(s)), input \(shape), K = \(normalization.numModes), \(train.count) train / \(validation.count) validation samples")

        let resumed = try EpochCheckpoint.latest(upTo: params.epochs, context: context)
        let network: DeepSSMNetwork
        var history: TrainingHistory
        if let resumed {
            network = try Self.torch { try resumed.checkpoint.makeNetwork(device: device) }
            guard network.outputCount == normalization.numModes, network.inputShape == shape else {
                throw StageFailure("the checkpoint of epoch \(resumed.epoch) predicts \(network.outputCount) scores from \(network.inputShape) but the loaders have K = \(normalization.numModes) and \(shape); clear the cache entry of this stage and train again")
            }
            if let rng = resumed.checkpoint.rngState { try Self.torch { try Torch.setRNGState(rng) } }
            history = resumed.history
            context.log("resuming from the checkpoint of epoch \(resumed.epoch) of \(params.epochs)")
        } else {
            network = try Self.torch {
                try DeepSSMNetwork(inputShape: shape, outputCount: normalization.numModes, seed: UInt64(params.seed),
                                   device: device, learningRate: params.learning_rate)
            }
            history = TrainingHistory()
            context.log("network: \(network.parameterCount) parameters, flattened size \(network.flattenedSize)")
        }

        let first = (resumed?.epoch ?? 0) + 1
        let trainer = DeepSSMTrainer(network: network, train: train, validation: validation, context: context)
        var clock = DeepSSMTrainer.Clock(totalBatches: params.epochs * train.batchesPerEpoch,
                                         doneBatches: (first - 1) * train.batchesPerEpoch)
        if first <= params.epochs {
            for epoch in first...params.epochs {
                let started = Date()
                let rate = params.learningRate(epoch: epoch)
                try Self.torch { try network.setLearningRate(rate) }
                let trained = try Self.torch { try trainer.trainEpoch(epoch, of: params.epochs, clock: &clock) }
                let validated = epoch % params.val_freq == 0 ? try Self.torch { try trainer.validate() } : nil
                let row = TrainingEpoch(epoch: epoch, learningRate: rate, trainError: trained.error,
                                        trainRelativeError: trained.relativeError, valError: validated?.error,
                                        valRelativeError: validated?.relativeError,
                                        seconds: Date().timeIntervalSince(started))
                history.epochs.append(row)
                context.log(String(format: "epoch %d: train error %.4g (rel %.4g), val error %@ (rel %@), %.1f s",
                                   epoch, row.trainError, row.trainRelativeError,
                                   row.valError.map { String(format: "%.4g", $0) } ?? "-",
                                   row.valRelativeError.map { String(format: "%.4g", $0) } ?? "-", row.seconds))
                try EpochCheckpoint(epoch: epoch, checkpoint: try Self.torch {
                    try NetworkCheckpoint(network: network, rngState: try Torch.rngState(),
                                          attributes: ["epoch": .int(Int64(epoch)),
                                                       "batches_done": .int(Int64(train.batchesPerEpoch))])
                }, history: history).store(context: context)
            }
        }
        try writeOutputs(params: params, network: network, history: history.prefix(through: params.epochs),
                         loaders: loaders, context: context)
    }

    private func writeOutputs(params: Params, network: DeepSSMNetwork, history: TrainingHistory,
                              loaders: URL, context: StageContext) throws {
        let model = context.outputURL("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        let final = try Self.torch { try NetworkCheckpoint(network: network).weightsOnly() }
        try Self.torch { try Self.labelled(final, epoch: params.epochs, history: history)
            .write(to: model.appendingPathComponent("final_model.h5")) }

        // Best = lowest mean validation relative error; its weights are that epoch's checkpoint.
        let best = history.bestEpoch?.epoch ?? params.epochs
        let bestCheckpoint: NetworkCheckpoint
        if best == params.epochs {
            bestCheckpoint = final
        } else {
            guard let stored = try EpochCheckpoint.lookup(epoch: best, context: context) else {
                throw StageFailure("the checkpoint of the best epoch (\(best)) is no longer in the cache; rerun this stage with its cache entry cleared to train again")
            }
            bestCheckpoint = stored.checkpoint.weightsOnly()
        }
        try Self.torch { try Self.labelled(bestCheckpoint, epoch: best, history: history)
            .write(to: model.appendingPathComponent("best_model.h5")) }
        try FileManager.default.copyItem(at: loaders.appendingPathComponent("normalization.json"),
                                         to: model.appendingPathComponent("normalization.json"))
        let summary = TrainingSummary(bestEpoch: best, finalEpoch: params.epochs, numModes: network.outputCount,
                                      inputShape: [network.inputShape.depth, network.inputShape.height,
                                                   network.inputShape.width],
                                      parameterCount: network.parameterCount,
                                      bestValRelativeError: history.bestEpoch?.valRelativeError)
        try summary.encoded().write(to: model.appendingPathComponent("training.json"))

        try Data(history.csv.utf8).write(to: context.outputURL("log"))
        try history.plot(to: context.outputURL("curve"), logScale: params.log_scale)

        if let last = history.epochs.last {
            context.metric("train_error", last.trainError)
            context.metric("train_rel_error", last.trainRelativeError)
            if let v = last.valRelativeError { context.metric("val_rel_error", v) }
        }
        if let bestRow = history.bestEpoch, let v = bestRow.valRelativeError {
            context.metric("best_val_rel_error", v)
            context.metric("best_epoch", Double(bestRow.epoch))
        }
        context.log("best model: epoch \(best); final model: epoch \(params.epochs)")
    }

    /// Marks a model file with its epoch and validation error (h5py users see them as attributes).
    private static func labelled(_ checkpoint: NetworkCheckpoint, epoch: Int, history: TrainingHistory) -> NetworkCheckpoint {
        var copy = checkpoint
        copy.attributes = ["epoch": .int(Int64(epoch))]
        if let v = history.epochs.first(where: { $0.epoch == epoch })?.valRelativeError {
            copy.attributes["val_rel_error"] = .double(v)
        }
        return copy
    }

    /// The network input shape, after checking that the splits and the
    /// normalisation agree on K and on the image grid.
    static func checkLoaders(train: BatchReader, validation: BatchReader,
                             normalization: LoaderNormalization) throws -> InputShape {
        let k = normalization.numModes
        for (name, reader) in [("train", train), ("val", validation)] where reader.numModes != k {
            throw StageFailure("K mismatch: \(name).h5 holds \(reader.numModes) target scores per sample but normalization.json has \(k) modes; rerun 'deepssm-loaders' so both come from the same PCA model")
        }
        guard train.imageShape == validation.imageShape else {
            throw StageFailure("train.h5 images are \(train.imageShape) but val.h5 images are \(validation.imageShape); rerun 'deepssm-loaders'")
        }
        return InputShape(depth: train.imageShape[0], height: train.imageShape[1], width: train.imageShape[2])
    }

    /// Runs libtorch work, turning its errors into stage failures with the message intact.
    static func torch<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as TorchError {
            throw StageFailure("\(error.operation): \(error.message)")
        }
    }
}

/// `training.json` of the model artifact.
struct TrainingSummary: Codable {
    var bestEpoch: Int
    var finalEpoch: Int
    var numModes: Int
    var inputShape: [Int]
    var parameterCount: Int
    var bestValRelativeError: Double?

    enum CodingKeys: String, CodingKey {
        case bestEpoch = "best_epoch", finalEpoch = "final_epoch", numModes = "num_modes"
        case inputShape = "input_shape", parameterCount = "parameter_count"
        case bestValRelativeError = "best_val_rel_error"
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(self)
    }
}
