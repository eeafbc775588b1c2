import Foundation
import TorchKit
import Workflow

/// One training of the DeepSSM network over the loaders' train and validation
/// splits: epochs of Adam steps in a seeded order, and per-sample validation.
final class DeepSSMTrainer {
    let network: DeepSSMNetwork
    let train: BatchReader
    let validation: BatchReader
    let shape: InputShape
    private let context: StageContext

    init(network: DeepSSMNetwork, train: BatchReader, validation: BatchReader, context: StageContext) {
        self.network = network
        self.train = train
        self.validation = validation
        self.context = context
        shape = InputShape(depth: train.imageShape[0], height: train.imageShape[1], width: train.imageShape[2])
    }

    /// Errors of one pass: mean √MSE and mean MSE(prediction, z) / MSE(0, z).
    struct Errors {
        var error: Double
        var relativeError: Double
    }

    /// Progress across the whole training, for the live ETA.
    struct Clock {
        var totalBatches: Int
        var doneBatches: Int
        var started = Date()
        var batchesThisRun = 0
    }

    /// Trains epoch `epoch` (its own seeded sample order); throws when a batch
    /// diverges, naming it, before the weights are touched.
    func trainEpoch(_ epoch: Int, of epochs: Int, clock: inout Clock) throws -> Errors {
        let batches = train.batches(epoch: epoch)
        defer { batches.stop() }
        var sumError = 0.0, sumRelative = 0.0, count = 0
        while let batch = try batches.next() {
            try context.checkCancellation()
            let loss = try network.trainBatch(images: batch.images, shape: shape, targets: batch.targets)
            guard loss.isFinite else {
                throw StageFailure("training diverged: the loss is \(loss) in epoch \(epoch), batch \(count + 1) (samples \(batch.ids.joined(separator: ", "))); the weights were not updated and the checkpoint of epoch \(epoch - 1) stays in the cache; check those images for NaN or lower learning_rate")
            }
            sumError += loss.squareRoot()
            let reference = Self.meanSquare(batch.targets)
            if reference > 0 { sumRelative += loss / reference }
            count += 1
            clock.doneBatches += 1
            clock.batchesThisRun += 1
            let perBatch = Date().timeIntervalSince(clock.started) / Double(clock.batchesThisRun)
            let eta = Self.duration(perBatch * Double(clock.totalBatches - clock.doneBatches))
            context.progress(clock.doneBatches, of: clock.totalBatches,
                             "epoch \(epoch)/\(epochs), loss \(String(format: "%.4g", loss)), eta \(eta)")
        }
        guard count > 0 else {
            throw StageFailure("the training split is empty; give deepssm-loaders more samples")
        }
        return Errors(error: sumError / Double(count), relativeError: sumRelative / Double(count))
    }

    /// Validation errors, each sample on its own as in the reference (batch 1);
    /// evaluation mode makes the result independent of how samples are batched.
    func validate() throws -> Errors {
        let batches = validation.batches(epoch: 0)
        defer { batches.stop() }
        let k = network.outputCount
        var sumError = 0.0, sumRelative = 0.0, count = 0
        while let batch = try batches.next() {
            try context.checkCancellation()
            let predictions = try network.evaluateBatch(images: batch.images, shape: shape)
            for s in 0..<batch.count {
                let target = batch.targets[(s * k)..<((s + 1) * k)]
                let predicted = predictions[(s * k)..<((s + 1) * k)]
                let mse = zip(predicted, target).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +) / Double(k)
                sumError += mse.squareRoot()
                let reference = Self.meanSquare(Array(target))
                if reference > 0 { sumRelative += mse / reference }
                count += 1
            }
        }
        guard count > 0 else {
            throw StageFailure("the validation split is empty; give deepssm-loaders a larger pool or validation fraction")
        }
        return Errors(error: sumError / Double(count), relativeError: sumRelative / Double(count))
    }

    static func meanSquare(_ values: [Float]) -> Double {
        values.isEmpty ? 0 : values.map { Double($0) * Double($0) }.reduce(0, +) / Double(values.count)
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
                         : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
