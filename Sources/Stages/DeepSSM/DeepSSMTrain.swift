import Foundation
import ShapeModel
import HDF5Kit
import TorchKit
import Workflow

/// `deepssm-train`: trains the DeepSSM network (docs/reference.md §4) on the loaders
/// artifact, with every epoch's checkpoint memoized so that raising `epochs`
/// resumes, lowering it reuses a stored epoch, and a killed run resumes from
/// its last finished epoch. Optionally fine-tunes the network afterwards on
/// particles through a fixed linear PCA decoder (`fine_tune_epochs`).
public struct DeepSSMTrain: Stage {
    public static let kind = "deepssm-train"
    public static let version = 2
    public static let summary = "train the DeepSSM network to regress whitened PCA scores from images"
    public static let inputs = [
        Port("loaders", "deepssm-loaders output: train/val/test splits and normalization"),
        Port("pca", "augment's PCA model (pca.h5): the fixed decoder of fine-tuning, needed when fine_tune_epochs > 0",
             optional: true),
    ]
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
        /// `fp32` when left out; `tf32` or `bf16` (autocast) on CUDA GPUs of compute capability 8.0+.
        public var precision: String? = nil
        public static let optionalParameters = ["precision"]
        /// Deterministic algorithms: on the CPU, same inputs give the same weights
        /// (on CUDA, where max-pool backward has no deterministic kernel, runs
        /// are close but not bit-identical).
        public var deterministic = true
        /// Logarithmic error axis in the training curve.
        public var log_scale = true
        /// After `epochs`, fine-tune this many epochs on particle error through
        /// a fixed linear decoder made of the PCA model (weights = modes, bias =
        /// mean), starting from the best epoch; 0 turns fine-tuning off.
        public var fine_tune_epochs = 0
        /// Adam learning rate of fine-tuning (a fresh optimizer over every weight).
        public var fine_tune_learning_rate = 1e-4

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
            if let issue = StagePrecision.issue(precision) { issues.append(issue) }
            if fine_tune_epochs < 0 {
                issues.append(.init("fine_tune_epochs", "must be 0 (no fine-tuning) or more, got \(fine_tune_epochs)"))
            }
            if !(fine_tune_learning_rate > 0) {
                issues.append(.init("fine_tune_learning_rate", "must be positive, got \(fine_tune_learning_rate)"))
            }
            return issues
        }

        /// The learning rate of epoch `epoch` (1-based) under the StepLR schedule.
        func learningRate(epoch: Int) -> Double {
            decay_lr ? learning_rate * pow(decay_gamma, Double(epoch - 1)) : learning_rate
        }
    }

    public init() {}

    // Parameters that do not change the weights of a given epoch.
    static let memoIgnored: Set<String> = ["epochs", "log_scale", "fine_tune_epochs", "fine_tune_learning_rate"]
    // ... and of a given fine-tuning epoch (which depends on `epochs`: it starts
    // from the best of them).
    static let fineTuneMemoIgnored: Set<String> = ["fine_tune_epochs", "log_scale"]

    public func run(_ params: Params, context: StageContext) async throws {
        let loaders = try context.input("loaders")
        let normalization = try LoaderNormalization(contentsOf: loaders.appendingPathComponent("normalization.json"))
        let train = try BatchReader(url: loaders.appendingPathComponent("train.h5"), batchSize: params.batch_size,
                                    shuffle: true, seed: UInt64(params.seed))
        let validation = try BatchReader(url: loaders.appendingPathComponent("val.h5"),
                                         batchSize: params.batch_size, shuffle: false)
        let shape = try Self.checkLoaders(train: train, validation: validation, normalization: normalization)
        let decoder = try Self.fineTuneDecoder(params, normalization: normalization, context: context)

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

        let line = try EpochCheckpoint.claimLine(context: context)
        defer { line.release() }
        let resumed = try EpochCheckpoint.latest(upTo: params.epochs, context: context)
        var network: DeepSSMNetwork
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

        try StagePrecision.apply(params.precision, to: network)
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
                try Self.finishEpoch(epoch, phase: .training, rate: rate, trained: trained, validated: validated,
                                     started: started, network: network, history: &history, context: context,
                                     attributes: ["batches_done": .int(Int64(train.batchesPerEpoch))])
            }
        }
        history = history.prefix(through: params.epochs)
        if let decoder {
            (network, history) = try fineTune(params, decoder: decoder, device: device, trained: network,
                                              history: history, trainer: trainer, context: context)
        }
        try writeOutputs(params: params, network: network, history: history, loaders: loaders, context: context)
    }

    /// Records a finished epoch: its row in the history, a log line, and its
    /// memoized checkpoint (weights, optimizer and generator state, history).
    private static func finishEpoch(_ epoch: Int, phase: EpochCheckpoint.Phase, rate: Double,
                                    trained: DeepSSMTrainer.Errors, validated: DeepSSMTrainer.Errors?,
                                    started: Date, network: DeepSSMNetwork, history: inout TrainingHistory,
                                    context: StageContext, attributes: [String: HDF5AttributeValue] = [:]) throws {
        let row = TrainingEpoch(epoch: epoch, learningRate: rate, trainError: trained.error,
                                trainRelativeError: trained.relativeError, valError: validated?.error,
                                valRelativeError: validated?.relativeError, seconds: Date().timeIntervalSince(started))
        let validation = (row.valError.map { String(format: "%.4g", $0) } ?? "-",
                          row.valRelativeError.map { String(format: "%.4g", $0) } ?? "-")
        switch phase {
        case .training:
            history.epochs.append(row)
            context.log(String(format: "epoch %d: train error %.4g (rel %.4g), val error %@ (rel %@), %.1f s",
                               epoch, row.trainError, row.trainRelativeError, validation.0, validation.1, row.seconds))
        case .fineTuning:
            history.fineTune.append(row)
            context.log(String(format: "fine-tune epoch %d: train particle RMSE %.4g mm (rel %.4g), val %@ mm (rel %@), %.1f s",
                               epoch, row.trainError, row.trainRelativeError, validation.0, validation.1, row.seconds))
        }
        var labels = attributes
        labels[phase.attribute] = .int(Int64(epoch))
        let checkpoint = try torch { try NetworkCheckpoint(network: network, rngState: try Torch.rngState(), attributes: labels) }
        try EpochCheckpoint(phase: phase, epoch: epoch, checkpoint: checkpoint, history: history).store(context: context)
    }

    /// The fixed PCA decoder when fine-tuning is on; fails early when it cannot be made.
    static func fineTuneDecoder(_ params: Params, normalization: LoaderNormalization,
                                context: StageContext) throws -> PCADecoder? {
        guard params.fine_tune_epochs > 0 else { return nil }
        guard context.hasInput("pca") else {
            throw StageFailure("fine_tune_epochs is \(params.fine_tune_epochs) but no PCA model is connected; add `pca: augment.pca` to this stage's inputs, or set fine_tune_epochs to 0")
        }
        return try PCADecoder(pca: try PCAModel.input(of: context), normalization: normalization)
    }

    /// Fine-tunes on particles from the best training epoch (or resumes a
    /// stored fine-tuning epoch), one memoized checkpoint per epoch.
    private func fineTune(_ params: Params, decoder: PCADecoder, device: TorchDevice, trained: DeepSSMNetwork,
                          history base: TrainingHistory, trainer: DeepSSMTrainer,
                          context: StageContext) throws -> (DeepSSMNetwork, TrainingHistory) {
        let total = params.fine_tune_epochs
        let network: DeepSSMNetwork
        var history: TrainingHistory
        if let resumed = try EpochCheckpoint.latest(upTo: total, phase: .fineTuning, context: context) {
            network = try Self.torch { try resumed.checkpoint.makeNetwork(device: device) }
            history = resumed.history
            context.log("resuming fine-tuning from the checkpoint of fine-tuning epoch \(resumed.epoch) of \(total)")
        } else {
            let best = base.bestEpoch?.epoch ?? params.epochs
            if best == params.epochs {
                network = trained
            } else {
                guard let stored = try EpochCheckpoint.lookup(epoch: best, context: context) else {
                    throw StageFailure("the checkpoint of the best epoch (\(best)) is no longer in the cache; rerun this stage with its cache entry cleared to train again")
                }
                network = try Self.torch { try stored.checkpoint.weightsOnly().makeNetwork(device: device) }
            }
            try Self.torch { try network.resetOptimizer(learningRate: params.fine_tune_learning_rate) }
            history = base
            context.log("fine-tuning \(total) epoch(s) on particles (\(decoder.particleValues / 3) particles) from epoch \(best), learning rate \(params.fine_tune_learning_rate)")
        }
        try Self.torch { try network.setDecoder(weight: decoder.weight, bias: decoder.bias) }
        try StagePrecision.apply(params.precision, to: network)
        let tuner = DeepSSMTrainer(network: network, train: trainer.train, validation: trainer.validation,
                                   context: context)
        let first = (history.fineTune.last?.epoch ?? 0) + 1
        var clock = DeepSSMTrainer.Clock(totalBatches: total * trainer.train.batchesPerEpoch,
                                         doneBatches: (first - 1) * trainer.train.batchesPerEpoch)
        if first <= total {
            for epoch in first...total {
                let started = Date()
                try Self.torch { try network.setLearningRate(params.fine_tune_learning_rate) }
                let trained = try Self.torch {
                    try tuner.fineTuneEpoch(epoch, of: total, order: params.epochs + epoch, decoder: decoder, clock: &clock)
                }
                let validated = epoch % params.val_freq == 0 ? try Self.torch { try tuner.validate(decoder: decoder) } : nil
                try Self.finishEpoch(epoch, phase: .fineTuning, rate: params.fine_tune_learning_rate, trained: trained,
                                     validated: validated, started: started, network: network, history: &history,
                                     context: context)
            }
        }
        return (network, history.prefix(through: params.epochs, fineTuneThrough: total))
    }

    private func writeOutputs(params: Params, network: DeepSSMNetwork, history: TrainingHistory,
                              loaders: URL, context: StageContext) throws {
        let model = context.outputURL("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        let tuned = params.fine_tune_epochs > 0
        let final = try Self.torch { try NetworkCheckpoint(network: network).weightsOnly() }
        try Self.torch { try Self.labelled(final, epoch: params.epochs, history: history,
                                           fineTuneEpoch: tuned ? params.fine_tune_epochs : nil)
            .write(to: model.appendingPathComponent("final_model.h5")) }

        // Best = lowest mean validation relative error (of the fine-tuning
        // epochs when there are some); its weights are that epoch's checkpoint.
        let best = history.bestEpoch?.epoch ?? params.epochs
        let bestTuned = tuned ? (history.bestFineTuneEpoch?.epoch ?? params.fine_tune_epochs) : nil
        let bestCheckpoint: NetworkCheckpoint
        if let bestTuned {
            if bestTuned == params.fine_tune_epochs {
                bestCheckpoint = final
            } else {
                guard let stored = try EpochCheckpoint.lookup(epoch: bestTuned, phase: .fineTuning, context: context) else {
                    throw StageFailure("the checkpoint of the best fine-tuning epoch (\(bestTuned)) is no longer in the cache; rerun this stage with its cache entry cleared to train again")
                }
                bestCheckpoint = stored.checkpoint.weightsOnly()
            }
        } else if best == params.epochs {
            bestCheckpoint = final
        } else {
            guard let stored = try EpochCheckpoint.lookup(epoch: best, context: context) else {
                throw StageFailure("the checkpoint of the best epoch (\(best)) is no longer in the cache; rerun this stage with its cache entry cleared to train again")
            }
            bestCheckpoint = stored.checkpoint.weightsOnly()
        }
        try Self.torch { try Self.labelled(bestCheckpoint, epoch: tuned ? params.epochs : best, history: history,
                                           fineTuneEpoch: bestTuned)
            .write(to: model.appendingPathComponent("best_model.h5")) }
        try FileManager.default.copyItem(at: loaders.appendingPathComponent("normalization.json"),
                                         to: model.appendingPathComponent("normalization.json"))
        let summary = TrainingSummary(bestEpoch: best, finalEpoch: params.epochs, numModes: network.outputCount,
                                      inputShape: [network.inputShape.depth, network.inputShape.height,
                                                   network.inputShape.width],
                                      parameterCount: network.parameterCount,
                                      bestValRelativeError: history.bestEpoch?.valRelativeError,
                                      fineTuneEpochs: params.fine_tune_epochs,
                                      bestFineTuneEpoch: bestTuned,
                                      bestFineTuneValParticleRMSE: tuned ? history.bestFineTuneEpoch?.valError : nil)
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
        if let last = history.fineTune.last {
            context.metric("fine_tune_train_particle_rmse_mm", last.trainError)
            if let bestRow = history.bestFineTuneEpoch, let v = bestRow.valError {
                context.metric("fine_tune_best_val_particle_rmse_mm", v)
            }
        }
        if let bestTuned {
            context.log("best model: fine-tuning epoch \(bestTuned); final model: fine-tuning epoch \(params.fine_tune_epochs) (after \(params.epochs) training epochs)")
        } else {
            context.log("best model: epoch \(best); final model: epoch \(params.epochs)")
        }
    }

    /// Marks a model file with its epoch and validation error (h5py users see them as attributes).
    private static func labelled(_ checkpoint: NetworkCheckpoint, epoch: Int, history: TrainingHistory,
                                 fineTuneEpoch: Int? = nil) -> NetworkCheckpoint {
        var copy = checkpoint
        copy.attributes = ["epoch": .int(Int64(epoch))]
        if let fineTuneEpoch {
            copy.attributes["fine_tune_epoch"] = .int(Int64(fineTuneEpoch))
            if let row = history.fineTune.first(where: { $0.epoch == fineTuneEpoch }) {
                if let v = row.valRelativeError { copy.attributes["val_rel_error"] = .double(v) }
                if let v = row.valError { copy.attributes["val_particle_rmse_mm"] = .double(v) }
            }
        } else if let v = history.epochs.first(where: { $0.epoch == epoch })?.valRelativeError {
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
            throw StageFailure("\(error.operation): \(error.message)\(StagePrecision.outOfMemoryAdvice(error))")
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
    var fineTuneEpochs = 0
    /// The fine-tuning epoch of best_model.h5, when fine-tuning ran.
    var bestFineTuneEpoch: Int?
    var bestFineTuneValParticleRMSE: Double?

    enum CodingKeys: String, CodingKey {
        case bestEpoch = "best_epoch", finalEpoch = "final_epoch", numModes = "num_modes"
        case inputShape = "input_shape", parameterCount = "parameter_count"
        case bestValRelativeError = "best_val_rel_error", fineTuneEpochs = "fine_tune_epochs"
        case bestFineTuneEpoch = "best_fine_tune_epoch"
        case bestFineTuneValParticleRMSE = "best_fine_tune_val_particle_rmse_mm"
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(self)
    }
}
