import Foundation
import HDF5Kit
import TorchKit
import Workflow

extension DeepSSMTrain {
    /// Writes the model files, `training.json`, the log and the curve;
    /// `lastEpoch` is the last training epoch (before `epochs` when stopped early).
    func writeOutputs(params: Params, lastEpoch: Int, network: DeepSSMNetwork, history: TrainingHistory,
                      loaders: LoaderArtifact, context: StageContext) throws {
        let model = context.outputURL("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        let tuned = params.fine_tune_epochs > 0
        let final = try Self.torch { try NetworkCheckpoint(network: network).weightsOnly() }
        try Self.torch { try Self.labelled(final, epoch: lastEpoch, history: history,
                                           fineTuneEpoch: tuned ? params.fine_tune_epochs : nil)
            .write(to: model.appendingPathComponent("final_model.h5")) }

        // Best = lowest mean validation relative error (of the fine-tuning
        // epochs when there are some); its weights are that epoch's checkpoint.
        let best = history.bestEpoch?.epoch ?? lastEpoch
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
        } else if best == lastEpoch {
            bestCheckpoint = final
        } else {
            guard let stored = try EpochCheckpoint.lookup(epoch: best, context: context) else {
                throw StageFailure("the checkpoint of the best epoch (\(best)) is no longer in the cache; rerun this stage with its cache entry cleared to train again")
            }
            bestCheckpoint = stored.checkpoint.weightsOnly()
        }
        try Self.torch { try Self.labelled(bestCheckpoint, epoch: tuned ? lastEpoch : best, history: history,
                                           fineTuneEpoch: bestTuned)
            .write(to: model.appendingPathComponent("best_model.h5")) }
        // The model carries the normalisation it was trained with (prediction checks it).
        try FileManager.default.copyItem(at: loaders.normalizationURL, to: LoaderArtifact.normalizationURL(in: model))
        var summary = TrainingSummary(bestEpoch: best, finalEpoch: lastEpoch, numModes: network.outputCount,
                                      inputShape: [network.inputShape.depth, network.inputShape.height,
                                                   network.inputShape.width],
                                      parameterCount: network.parameterCount,
                                      bestValRelativeError: history.bestEpoch?.valRelativeError,
                                      fineTuneEpochs: params.fine_tune_epochs,
                                      bestFineTuneEpoch: bestTuned,
                                      bestFineTuneValParticleRMSE: tuned ? history.bestFineTuneEpoch?.valError : nil)
        if params.early_stopping { summary.stoppedEarly = lastEpoch < params.epochs }
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
            context.log("best model: fine-tuning epoch \(bestTuned); final model: fine-tuning epoch \(params.fine_tune_epochs) (after \(lastEpoch) training epochs)")
        } else {
            context.log("best model: epoch \(best); final model: epoch \(lastEpoch)")
        }
    }

    /// Marks a model file with its epoch and validation error (h5py users see them as attributes).
    static func labelled(_ checkpoint: NetworkCheckpoint, epoch: Int, history: TrainingHistory,
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
    /// With early stopping: whether it ended training before `epochs` (then
    /// `final_epoch` is the last epoch trained).
    var stoppedEarly: Bool?

    enum CodingKeys: String, CodingKey {
        case bestEpoch = "best_epoch", finalEpoch = "final_epoch", numModes = "num_modes"
        case inputShape = "input_shape", parameterCount = "parameter_count"
        case bestValRelativeError = "best_val_rel_error", fineTuneEpochs = "fine_tune_epochs"
        case bestFineTuneEpoch = "best_fine_tune_epoch"
        case bestFineTuneValParticleRMSE = "best_fine_tune_val_particle_rmse_mm"
        case stoppedEarly = "stopped_early"
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(self)
    }
}
