import Foundation
import GeometryKit
import TorchKit

/// One finished epoch of a TL-DeepSSM training. Particle errors are in mm
/// (√MSE over coordinates), latent errors in the code's units; a phase leaves
/// the errors it does not have empty, and so does an epoch without validation.
struct TLEpoch: Codable, Sendable, Equatable {
    var phase: String
    var epoch: Int
    var learningRate: Double
    /// Mean over batches of the autoencoder's reconstruction RMSE (autoencoder, joint).
    var trainParticleRMSE: Double?
    /// Mean over batches of the image code's RMSE against the particle code (T-flank, joint).
    var trainLatentRMSE: Double?
    /// Validation, one sample at a time: the autoencoder's reconstruction RMSE and
    /// MSE / MSE(mean shape) (ShapeWorks' relative error measures against zero;
    /// against the mean shape it does not vanish for world-frame particles).
    var valParticleRMSE: Double?
    var valParticleRelativeError: Double?
    /// The image code against the particle code: RMSE, and MSE / MSE(0, code) (T-flank, joint).
    var valLatentRMSE: Double?
    var valLatentRelativeError: Double?
    /// The prediction (image encoder → decoder) against the particles, RMSE (T-flank, joint).
    var valPredictionRMSE: Double?

    enum CodingKeys: String, CodingKey {
        case phase, epoch, learningRate = "lr", trainParticleRMSE = "train_particle_rmse"
        case trainLatentRMSE = "train_latent_rmse", valParticleRMSE = "val_particle_rmse"
        case valParticleRelativeError = "val_particle_rel_error", valLatentRMSE = "val_latent_rmse"
        case valLatentRelativeError = "val_latent_rel_error", valPredictionRMSE = "val_prediction_rmse"
    }

    /// ShapeWorks' choice of the best joint epoch: particle + alpha × latent relative error.
    func selectionError(alpha: Double) -> Double? {
        guard let particle = valParticleRelativeError, let latent = valLatentRelativeError else { return nil }
        return particle + alpha * latent
    }
}

/// Every finished epoch of a TL-DeepSSM training in phase order, as each
/// memoized checkpoint carries it.
struct TLHistory: Codable, Sendable, Equatable {
    var epochs: [TLEpoch] = []

    func rows(_ phase: TLDeepSSMNetwork.Phase) -> [TLEpoch] { epochs.filter { $0.phase == phase.rawValue } }

    /// The history up to epoch `epoch` of `phase` (every epoch of the phases before).
    func prefix(through epoch: Int, of phase: TLDeepSSMNetwork.Phase) -> TLHistory {
        let order = TLDeepSSMNetwork.Phase.allCases.map(\.rawValue)
        let limit = order.firstIndex(of: phase.rawValue)!
        return TLHistory(epochs: epochs.filter { row in
            let index = order.firstIndex(of: row.phase) ?? order.count
            return index < limit || (index == limit && row.epoch <= epoch)
        })
    }

    /// The validated joint epoch of lowest selection error (the earliest on ties).
    func bestJointEpoch(alpha: Double) -> TLEpoch? {
        rows(.joint).compactMap { row in row.selectionError(alpha: alpha).map { (row, $0) } }
            .min { ($0.1, $0.0.epoch) < ($1.1, $1.0.epoch) }?.0
    }

    var csv: String {
        var lines = ["phase,epoch,lr,train_particle_rmse,train_latent_rmse,val_particle_rmse,val_particle_rel_error,val_latent_rmse,val_latent_rel_error,val_prediction_rmse"]
        let number = { (value: Double?) in value.map { String(format: "%.8g", $0) } ?? "" }
        for row in epochs {
            lines.append(([row.phase, "\(row.epoch)", number(row.learningRate)] + [
                row.trainParticleRMSE, row.trainLatentRMSE, row.valParticleRMSE, row.valParticleRelativeError,
                row.valLatentRMSE, row.valLatentRelativeError, row.valPredictionRMSE,
            ].map(number)).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The phases one after another on the epoch axis: particle RMSEs (mm) of
    /// the autoencoder and of the prediction, and the latent RMSE.
    func plot(to url: URL, logScale: Bool) throws {
        var x: [Double] = []
        var step = 0.0
        for _ in epochs { step += 1; x.append(step) }
        var series: [Plot.Series] = []
        let add = { (name: String, value: (TLEpoch) -> Double?) in
            let points = zip(x, epochs).compactMap { position, row in value(row).map { (position, $0) } }
            guard !points.isEmpty else { return }
            // A one-point line draws nothing; show it as a short level segment.
            let single = points.count == 1
            series.append(Plot.Series(name: name,
                                      x: single ? [points[0].0 - 0.25, points[0].0 + 0.25] : points.map(\.0),
                                      y: single ? [points[0].1, points[0].1] : points.map(\.1)))
        }
        add("autoencoder train RMSE (mm)") { $0.trainParticleRMSE }
        add("autoencoder validation RMSE (mm)") { $0.valParticleRMSE }
        add("latent train RMSE") { $0.trainLatentRMSE }
        add("latent validation RMSE") { $0.valLatentRMSE }
        add("prediction validation RMSE (mm)") { $0.valPredictionRMSE }
        try Plot.lines(series, title: "TL-DeepSSM training (autoencoder, T-flank, joint)",
                       xLabel: "epoch (all phases)", yLabel: "RMSE", logY: logScale, to: url)
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(self)
    }
}
