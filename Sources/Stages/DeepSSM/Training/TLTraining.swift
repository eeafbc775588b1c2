import Foundation
import HDF5Kit
import ShapeModel
import TorchKit
import Workflow

/// `variant: tl`: TL-DeepSSM (ShapeWorks' `supervised_train_tl`), in three
/// phases (autoencoder on particles, T-flank, joint), each epoch memoized.
extension DeepSSMTrain {
    private typealias Phase = TLDeepSSMNetwork.Phase

    func runTL(_ params: Params, context: StageContext) throws {
        let setup = try TrainingSetup(params, context: context)
        let (loaders, normalization, train, validation) = (setup.loaders, setup.normalization, setup.train, setup.validation)
        let (shape, device) = (setup.shape, setup.device)
        guard context.hasInput("pca") else {
            throw StageFailure("variant tl trains on particles, which it decodes from the loaders' scores with the PCA model, but no PCA model is connected; add `pca: augment.pca` to this stage's inputs")
        }
        let decoder = try PCADecoder(pca: try PCAModel.input(of: context), normalization: normalization)
        let (a, t, j) = (params.tlAutoencoderEpochs, params.tlTFlankEpochs, params.tlJointEpochs)
        let latent = params.tlLatentSize(numModes: normalization.numModes)
        context.log("TL-DeepSSM on \(device.rawValue) (libtorch \(Torch.version), \(Torch.threads) thread(s)), input \(shape), \(decoder.particleValues / 3) particles, latent \(latent); epochs: autoencoder \(a), T-flank \(t), joint \(j); \(train.count) train / \(validation.count) validation samples")

        let line = try TLEpochCheckpoint.claimLine(context: context)
        defer { line.release() }
        let plan: [(phase: Phase, epochs: Int, before: [Int], offset: Int)] = [
            (.autoencoder, a, [], 0), (.tflank, t, [a], a), (.joint, j, [a, t], a + t),
        ]
        // Resume from the furthest stored epoch: the last phase's first.
        var resumed: TLEpochCheckpoint? = nil
        for step in plan.reversed() where resumed == nil && step.epochs > 0 {
            resumed = try TLEpochCheckpoint.latest(step.phase, upTo: step.epochs, before: step.before, context: context)
        }
        let network: TLDeepSSMNetwork
        var history: TLHistory
        if let resumed {
            network = try Self.torch { try resumed.checkpoint.makeTLNetwork(device: device) }
            guard network.particleValues == decoder.particleValues, network.inputShape == shape,
                  network.latentSize == latent else {
                throw StageFailure("the stored TL-DeepSSM checkpoint does not fit these loaders (input, particles or latent size differ); clear the cache entry of this stage and train again")
            }
            history = resumed.history
            context.log("resuming from the checkpoint of \(resumed.phase.rawValue) epoch \(resumed.epoch)")
        } else {
            network = try Self.torch {
                try TLDeepSSMNetwork(inputShape: shape, particleValues: decoder.particleValues, latentSize: latent,
                                     seed: UInt64(params.seed), device: device, learningRate: params.learning_rate)
            }
            history = TLHistory()
            context.log("TL-DeepSSM model: \(network.parameterCount) parameters")
        }
        try Self.torch { try network.setLoss(params.tlLoss) }
        let trainer = TLTrainingLoop(network: network, train: train, validation: validation, decoder: decoder,
                                     alpha: params.tlAlpha, context: context)
        trainer.augmentation = params.augmentation
        let start: (Phase, Int) = resumed.map { ($0.phase, $0.epoch + 1) } ?? (.autoencoder, 1)
        let startIndex = Phase.allCases.firstIndex(of: start.0)!
        let perEpoch = train.batchesPerEpoch
        var clock = TrainingLoop.Clock(totalBatches: (a + t + j) * perEpoch,
                                       doneBatches: (plan[startIndex].offset + start.1 - 1) * perEpoch)
        var timing = EpochTiming()
        for (index, step) in plan.enumerated() where index >= startIndex {
            let first = index == startIndex ? start.1 : 1
            guard first <= step.epochs else { continue }
            for epoch in first...step.epochs {
                let started = Date()
                let order = step.offset + epoch
                // ShapeWorks steps the schedule in the joint phase only.
                let rate = step.phase == .joint ? params.learningRate(epoch: epoch) : params.learning_rate
                try Self.torch { try Torch.manualSeed(Self.epochSeed(params.seed, epoch: order)) }
                try Self.torch { try network.setLearningRate(rate) }
                var row = try Self.torch {
                    try trainer.trainEpoch(step.phase, epoch: epoch, of: step.epochs, order: order, rate: rate, clock: &clock)
                }
                if epoch % params.val_freq == 0 { try Self.torch { try trainer.validate(&row) } }
                history.epochs.append(row)
                let seconds = Date().timeIntervalSince(started)
                timing.add(seconds, phase: .training)
                context.log(Self.describe(row, seconds: seconds))
                let checkpoint = try Self.torch {
                    try NetworkCheckpoint(tl: network, attributes: ["tl_phase": .string(step.phase.rawValue),
                                                                    "epoch": .int(Int64(epoch))])
                }
                try TLEpochCheckpoint(phase: step.phase, epoch: epoch, checkpoint: checkpoint, history: history)
                    .store(before: step.before, context: context)
            }
        }
        try writeTLOutputs(params, network: network, history: history.prefix(through: j, of: .joint), loaders: loaders,
                           numModes: normalization.numModes, context: context)
        timing.record(context: context)
    }

    static func describe(_ row: TLEpoch, seconds: Double) -> String {
        let number = { (value: Double?) in value.map { String(format: "%.4g", $0) } ?? "-" }
        return "TL \(row.phase) epoch \(row.epoch): train particle RMSE \(number(row.trainParticleRMSE)) mm, latent RMSE \(number(row.trainLatentRMSE)); val particle RMSE \(number(row.valParticleRMSE)) mm, latent RMSE \(number(row.valLatentRMSE)), prediction RMSE \(number(row.valPredictionRMSE)) mm; " + String(format: "%.1f s", seconds)
    }

    /// best_model.h5 (the joint epoch of lowest validation particle + alpha ×
    /// latent relative error; the final model without joint validation),
    /// final_model.h5, normalization.json, training.json, the log and the curve.
    func writeTLOutputs(_ params: Params, network: TLDeepSSMNetwork, history: TLHistory, loaders: LoaderArtifact,
                        numModes: Int, context: StageContext) throws {
        let model = context.outputURL("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        let (a, t, j) = (params.tlAutoencoderEpochs, params.tlTFlankEpochs, params.tlJointEpochs)
        let counts: [String: HDF5AttributeValue] = ["tl_ae_epochs": .int(Int64(a)), "tl_tf_epochs": .int(Int64(t)),
                                                    "tl_joint_epochs": .int(Int64(j))]
        let final = try Self.torch { try NetworkCheckpoint(tl: network, attributes: counts).weightsOnly() }
        var finalLabelled = final
        finalLabelled.attributes["epoch"] = .int(Int64(j))
        try Self.torch { try finalLabelled.write(to: model.appendingPathComponent("final_model.h5")) }

        let best = history.bestJointEpoch(alpha: params.tlAlpha)
        var bestCheckpoint = final
        if let best, best.epoch != j {
            guard let stored = try TLEpochCheckpoint.lookup(.joint, epoch: best.epoch, before: [a, t], context: context) else {
                throw StageFailure("the checkpoint of the best joint epoch (\(best.epoch)) is no longer in the cache; rerun this stage with its cache entry cleared to train again")
            }
            bestCheckpoint = stored.checkpoint.weightsOnly()
            bestCheckpoint.attributes = final.attributes
        }
        bestCheckpoint.attributes["epoch"] = .int(Int64(best?.epoch ?? j))
        if let error = best?.selectionError(alpha: params.tlAlpha) { bestCheckpoint.attributes["val_rel_error"] = .double(error) }
        try Self.torch { try bestCheckpoint.write(to: model.appendingPathComponent("best_model.h5")) }
        try FileManager.default.copyItem(at: loaders.normalizationURL, to: LoaderArtifact.normalizationURL(in: model))
        let summary = TLTrainingSummary(
            numModes: numModes, latentSize: network.latentSize, particleValues: network.particleValues,
            inputShape: [network.inputShape.depth, network.inputShape.height, network.inputShape.width],
            parameterCount: network.parameterCount, autoencoderEpochs: a, tflankEpochs: t, jointEpochs: j,
            bestEpoch: best?.epoch ?? j, bestValRelativeError: best?.selectionError(alpha: params.tlAlpha),
            bestValPredictionRMSE: best?.valPredictionRMSE)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(summary).write(to: model.appendingPathComponent("training.json"))
        try Data(history.csv.utf8).write(to: context.outputURL("log"))
        try history.plot(to: context.outputURL("curve"), logScale: params.log_scale)

        if let last = history.epochs.last(where: { $0.valPredictionRMSE != nil }), let v = last.valPredictionRMSE {
            context.metric("tl_val_prediction_rmse_mm", v)
        }
        if let last = history.epochs.last(where: { $0.valParticleRMSE != nil }), let v = last.valParticleRMSE {
            context.metric("tl_val_autoencoder_rmse_mm", v)
        }
        if let best, let v = best.selectionError(alpha: params.tlAlpha) {
            context.metric("best_val_rel_error", v)
            context.metric("best_epoch", Double(best.epoch))
        }
        context.log("best model: joint epoch \(best?.epoch ?? j); final model: joint epoch \(j) (after \(a) autoencoder and \(t) T-flank epochs)")
    }
}

/// `training.json` of a TL-DeepSSM model artifact.
struct TLTrainingSummary: Codable {
    var variant = "tl"
    var numModes: Int
    var latentSize: Int
    var particleValues: Int
    var inputShape: [Int]
    var parameterCount: Int
    var autoencoderEpochs: Int
    var tflankEpochs: Int
    var jointEpochs: Int
    /// The joint epoch of best_model.h5 (the last one without joint validation).
    var bestEpoch: Int
    var bestValRelativeError: Double?
    var bestValPredictionRMSE: Double?

    enum CodingKeys: String, CodingKey {
        case variant, numModes = "num_modes", latentSize = "latent_dim", particleValues = "particle_values"
        case inputShape = "input_shape", parameterCount = "parameter_count", autoencoderEpochs = "tl_ae_epochs"
        case tflankEpochs = "tl_tf_epochs", jointEpochs = "tl_joint_epochs", bestEpoch = "best_epoch"
        case bestValRelativeError = "best_val_rel_error", bestValPredictionRMSE = "best_val_prediction_rmse_mm"
    }
}
