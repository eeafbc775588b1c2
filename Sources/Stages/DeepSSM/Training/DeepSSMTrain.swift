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
    public static let version = 3
    public static let summary = "train the DeepSSM network to regress whitened PCA scores from images"
    public static let inputs = [
        Port("loaders", "deepssm-loaders output: train/val/test splits and normalization"),
        Port("pca", "augment's PCA model (pca.h5): the fixed decoder of fine-tuning, needed when fine_tune_epochs > 0, and for variant tl (its training particles)",
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
        /// Multiply the learning rate by `decay_gamma` after every epoch (= `lr_schedule: exponential`).
        public var decay_lr = false
        public var decay_gamma = 0.99
        public var seed = 1
        /// `cpu`, `cuda`, or `auto` (CUDA when this libtorch has it and a GPU is visible).
        public var device = "auto"
        /// libtorch threads: a fixed count by default, so that the weights (whose
        /// floating-point sums depend on it) are the same on every machine; 0 takes
        /// the engine's share of this machine's cores (faster, machine-dependent).
        public var threads = 2
        /// `fp32` when left out; `tf32` or `bf16` (autocast) on CUDA GPUs of compute capability 8.0+.
        public var precision: String? = nil
        /// `auto` when left out: the training and validation splits resident on
        /// a CUDA device when they fit its free memory, else streamed; `device`
        /// or `stream` to choose (StageResidency). Never in the key: it changes no byte.
        public var residency: String? = nil
        public static let optionalParameters = ["precision", "residency", "precise_bn_samples", "loss_weights"] + tlParameterNames
        public static let unkeyedParameters = ["residency"]
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

        // The training recipe (docs/training-recipe.md; ShapeWorks 6.7 names).
        /// `none`, `exponential` (decay_gamma), `step` (step_size, gamma), `cosine` (T_max, eta_min).
        public var lr_schedule = "none"
        public var step_size = 10
        public var gamma = 0.1
        public var T_max = 50
        public var eta_min = 0.0
        /// `mse` or `focal` (ShapeWorks: l² / (1 + exp(a (c − l)))).
        public var loss = "mse"
        public var focal_a = 1.32
        public var focal_c = 10.0
        /// Stop after `patience` validated epochs without a better validation error.
        public var early_stopping = false
        public var patience = 10
        /// Live intensity augmentation of training images (magnitude, probability each).
        public var intensity_augmentation = false
        public var intensity_scale = 0.1
        public var intensity_scale_p = 1.0
        public var intensity_shift = 0.1
        public var intensity_shift_p = 1.0
        public var intensity_noise = 0.05
        public var intensity_noise_p = 1.0
        public var intensity_gamma = 0.0
        public var intensity_gamma_p = 1.0
        public var intensity_blur = 0.0
        public var intensity_blur_p = 1.0
        /// Precise batch norm: after every epoch, the batch-norm running
        /// statistics are recomputed over this many training samples (not
        /// augmented) with the epoch's final weights; left out (or 0): the
        /// moving average of training, as ShapeWorks. Optional: out of the key until set.
        public var precise_bn_samples: Int? = nil
        /// `precise_bn_samples`, 0 when left out (off).
        var preciseBatchNormSamples: Int { max(precise_bn_samples ?? 0, 0) }
        /// How the loss weighs the K whitened scores: `equal` when left out (as
        /// ShapeWorks), or `variance`: each score by its mode's variance in the
        /// training data, so that the loss is the particle error within the PCA
        /// subspace. Optional: out of the key until set.
        public var loss_weights: String? = nil

        // TL-DeepSSM (DeepSSMTrain+TL.swift, docs/training-recipe.md; ShapeWorks' `tl_net`
        // keys): optional, so that they stay out of the stage key until set.
        /// `base` when left out (the DeepSSM network), or `tl`.
        public var variant: String? = nil
        public var tl_ae_epochs: Int? = nil
        public var tl_tf_epochs: Int? = nil
        public var tl_joint_epochs: Int? = nil
        public var tl_alpha: Double? = nil
        public var tl_a_ae: Double? = nil
        public var tl_c_ae: Double? = nil
        public var tl_a_lat: Double? = nil
        public var tl_c_lat: Double? = nil
        public var tl_latent_dim: Int? = nil

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
            if let residency, let issue = StageResidency.issue(residency, augmentation: intensity_augmentation) {
                issues.append(issue)
            }
            if let weights = loss_weights, !Self.lossWeightings.contains(weights) {
                issues.append(.init("loss_weights", "'\(weights)' is not a weighting; use \(Self.lossWeightings.joined(separator: " or "))"))
            }
            if let samples = precise_bn_samples, samples < 0 {
                issues.append(.init("precise_bn_samples", "must be 0 (off) or more training samples, got \(samples)"))
            }
            if fine_tune_epochs < 0 {
                issues.append(.init("fine_tune_epochs", "must be 0 (no fine-tuning) or more, got \(fine_tune_epochs)"))
            }
            if !(fine_tune_learning_rate > 0) {
                issues.append(.init("fine_tune_learning_rate", "must be positive, got \(fine_tune_learning_rate)"))
            }
            return issues + recipeIssues() + tlIssues()
        }
    }

    public init() {}

    // Parameters that do not change the weights of a given epoch.
    // Early stopping decides only whether a next epoch is trained.
    static let memoIgnored: Set<String> = ["epochs", "log_scale", "fine_tune_epochs", "fine_tune_learning_rate",
                                           "early_stopping", "patience", "residency"]
    // ... and of a given fine-tuning epoch (which depends on `epochs`: it starts
    // from the best of them).
    static let fineTuneMemoIgnored: Set<String> = ["fine_tune_epochs", "log_scale", "residency"]

    public func run(_ params: Params, context: StageContext) async throws {
        // Large CPU buffers stay in the heap between steps (see `HostHeap`).
        try HostHeap.keepingLargeBlocks {
            if params.isTL { return try runTL(params, context: context) }
            try runBase(params, context: context)
        }
    }

    func runBase(_ params: Params, context: StageContext) throws {
        let setup = try TrainingSetup(params, context: context)
        let (loaders, normalization, train, validation) = (setup.loaders, setup.normalization, setup.train, setup.validation)
        let (shape, device) = (setup.shape, setup.device)
        let decoder = try Self.fineTuneDecoder(params, normalization: normalization, context: context)
        // With a PCA model connected, validation also reports particle errors (mm) in the log.
        let particleDecoder = try decoder
            ?? (context.hasInput("pca") ? PCADecoder(pca: try PCAModel.input(of: context), normalization: normalization) : nil)
        context.log("training on \(device.rawValue) (libtorch \(Torch.version), \(Torch.threads) thread(s)), input \(shape), K = \(normalization.numModes), \(train.count) train / \(validation.count) validation samples")

        let line = try EpochCheckpoint.claimLine(context: context)
        defer { line.release() }
        var resumed = try EpochCheckpoint.latest(upTo: params.epochs, context: context)
        // Stored epochs past the one where early stopping ends training are not used.
        if let found = resumed, let stop = params.stoppingEpoch(in: found.history), stop < found.epoch {
            resumed = try EpochCheckpoint.lookup(epoch: stop, context: context)
        }
        var network: DeepSSMNetwork
        var history: TrainingHistory
        if let resumed {
            network = try Self.torch { try resumed.checkpoint.makeNetwork(device: device) }
            guard network.outputCount == normalization.numModes, network.inputShape == shape else {
                throw StageFailure("the checkpoint of epoch \(resumed.epoch) predicts \(network.outputCount) scores from \(network.inputShape) but the loaders have K = \(normalization.numModes) and \(shape); clear the cache entry of this stage and train again")
            }
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
        try Self.torch { try network.setLoss(params.trainingLoss) }
        if let weights = params.scoreWeights(normalization) {
            try Self.torch { try network.setLossWeights(weights) }
            context.log("loss weights (mode variances): " + weights.map { String(format: "%.3g", $0) }.joined(separator: ", "))
        }
        let first = (resumed?.epoch ?? 0) + 1
        let trainer = TrainingLoop(network: network, train: train, validation: validation, context: context)
        trainer.augmentation = params.augmentation
        if first <= params.epochs {
            trainer.feed = try BatchFeed.make(params, network: network, train: train, validation: validation, context: context)
        }
        var clock = TrainingLoop.Clock(totalBatches: params.epochs * train.batchesPerEpoch,
                                         doneBatches: (first - 1) * train.batchesPerEpoch)
        var timing = EpochTiming()
        if first <= params.epochs {
            for epoch in first...params.epochs {
                if params.shouldStop(after: history) {
                    context.log("early stopping before epoch \(epoch): \(params.patience) validated epoch(s) since the best (epoch \(history.bestEpoch?.epoch ?? 0)) without improvement")
                    break
                }
                let started = Date()
                let rate = params.learningRate(epoch: epoch)
                // Each epoch seeds the generators from (seed, epoch): no generator
                // state travels in checkpoints, and a resumed epoch draws as a straight one.
                try Self.torch { try Torch.manualSeed(Self.epochSeed(params.seed, epoch: epoch)) }
                try Self.torch { try network.setLearningRate(rate) }
                let trained = try Self.torch { try trainer.trainEpoch(epoch, of: params.epochs, clock: &clock) }
                try Self.torch { try trainer.recomputeBatchNormStatistics(samples: params.preciseBatchNormSamples) }
                let validated = epoch % params.val_freq == 0
                    ? try Self.torch { try trainer.validate(particles: particleDecoder) } : nil
                try Self.finishEpoch(epoch, phase: .training, rate: rate, trained: trained, validated: validated,
                                     started: started, network: network, history: &history, context: context,
                                     timing: &timing, attributes: ["batches_done": .int(Int64(train.batchesPerEpoch))])
            }
        }
        history = history.prefix(through: params.epochs)
        // Early stopping may end before `epochs` (also when the stored epochs already decided it).
        let last = history.epochs.last?.epoch ?? params.epochs
        if let decoder {
            (network, history) = try fineTune(params, lastEpoch: last, decoder: decoder, device: device,
                                              trained: network, history: history, trainer: trainer,
                                              context: context, timing: &timing)
        }
        try writeOutputs(params: params, lastEpoch: last, network: network, history: history, loaders: loaders,
                         context: context)
        timing.record(context: context)
    }

    /// The generator seed of epoch `epoch`: a mix of `seed` and the epoch number.
    static func epochSeed(_ seed: Int, epoch: Int) -> UInt64 {
        var z = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(truncatingIfNeeded: epoch)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (z ^ (z >> 31)) & 0x7FFF_FFFF_FFFF_FFFF
    }

    /// Records a finished epoch: its row in the history, a log line, and its
    /// memoized checkpoint (weights, optimizer and generator state, history).
    /// The row and the checkpoint hold no wall-clock time: a resumed training
    /// writes the bytes of a straight one. Times go to the log and the metrics.
    static func finishEpoch(_ epoch: Int, phase: EpochCheckpoint.Phase, rate: Double,
                            trained: TrainingLoop.Errors, validated: TrainingLoop.Errors?,
                            started: Date, network: DeepSSMNetwork, history: inout TrainingHistory,
                            context: StageContext, timing: inout EpochTiming,
                            attributes: [String: HDF5AttributeValue] = [:]) throws {
        let row = TrainingEpoch(epoch: epoch, learningRate: rate, trainError: trained.error,
                                trainRelativeError: trained.relativeError, valError: validated?.error,
                                valRelativeError: validated?.relativeError)
        let seconds = Date().timeIntervalSince(started)
        timing.add(seconds, phase: phase)
        let validation = (row.valError.map { String(format: "%.4g", $0) } ?? "-",
                          row.valRelativeError.map { String(format: "%.4g", $0) } ?? "-")
        switch phase {
        case .training:
            history.epochs.append(row)
            let particles = validated?.particles.map {
                String(format: ", val particles %.4g mm (rel %.4g)", $0.rmse, $0.relative)
            } ?? ""
            context.log(String(format: "epoch %d: train error %.4g (rel %.4g), val error %@ (rel %@)%@, %.1f s",
                               epoch, row.trainError, row.trainRelativeError, validation.0, validation.1,
                               particles, seconds))
        case .fineTuning:
            history.fineTune.append(row)
            context.log(String(format: "fine-tune epoch %d: train particle RMSE %.4g mm (rel %.4g), val %@ mm (rel %@), %.1f s",
                               epoch, row.trainError, row.trainRelativeError, validation.0, validation.1, seconds))
        }
        var labels = attributes
        labels[phase.attribute] = .int(Int64(epoch))
        let checkpoint = try torch { try NetworkCheckpoint(network: network, attributes: labels) }
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
