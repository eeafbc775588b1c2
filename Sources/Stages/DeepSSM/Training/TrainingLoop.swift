import Foundation
import TorchKit
import Workflow

/// One training of the DeepSSM network over the loaders' train and validation
/// splits: epochs of Adam steps in a seeded order, and per-sample validation.
final class TrainingLoop {
    let network: DeepSSMNetwork
    let train: BatchReader
    let validation: BatchReader
    let shape: InputShape
    /// Live intensity augmentation of the training images of score epochs (off by default).
    var augmentation = IntensityAugmentation()
    /// Where training batches come from when not streamed with a loss read back
    /// per batch (splits resident on the device, deferred losses on CUDA); nil: that default.
    var feed: BatchFeed?
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
        /// Score validation with a PCA model at hand: the same predictions as
        /// particles, RMSE in mm and MSE relative to the mean shape's (logged only).
        var particles: (rmse: Double, relative: Double)? = nil
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
        if let feed { return try feed.trainEpoch(epoch, of: epochs, loop: self, clock: &clock) }
        return try epochLoop(order: epoch, label: "epoch \(epoch)/\(epochs)", clock: &clock) { batch in
            var images = batch.images
            augmentation.apply(to: &images, positions: batch.indices, epoch: epoch,
                               shape: (shape.depth, shape.height, shape.width))
            let loss = try network.trainBatch(images: images, shape: shape, targets: batch.targets)
            return (loss, Self.meanSquare(batch.targets))
        } diverged: { loss, batch, index in
            "training diverged: the loss is \(loss) in epoch \(epoch), batch \(index) (samples \(batch.ids.joined(separator: ", "))); the weights were not updated and the checkpoint of epoch \(epoch - 1) stays in the cache; check those images for NaN or lower learning_rate"
        }
    }

    /// Fine-tuning epoch `epoch` on particles through the fixed `decoder`,
    /// in the sample order of training epoch `order`: errors in mm, the relative
    /// error against the decoder's mean shape.
    func fineTuneEpoch(_ epoch: Int, of epochs: Int, order: Int, decoder: PCADecoder, clock: inout Clock) throws -> Errors {
        try epochLoop(order: order, label: "fine-tune \(epoch)/\(epochs)", clock: &clock) { batch in
            let particles = decoder.decode(batch.targets)
            let loss = try network.trainParticlesBatch(images: batch.images, shape: shape, particles: particles)
            return (loss, Self.meanSquareDistance(particles, decoder.bias))
        } diverged: { loss, batch, index in
            "fine-tuning diverged: the particle loss is \(loss) in fine-tuning epoch \(epoch), batch \(index) (samples \(batch.ids.joined(separator: ", "))); the weights were not updated and the previous checkpoint stays in the cache; lower fine_tune_learning_rate"
        }
    }

    /// One pass over the training split: `step` returns the batch's loss and
    /// the mean square of its reference (the loss of predicting zeros / the mean).
    private func epochLoop(order: Int, label: String, clock: inout Clock,
                           step: (BatchReader.Batch) throws -> (loss: Double, reference: Double),
                           diverged: (Double, BatchReader.Batch, Int) -> String) throws -> Errors {
        let batches = train.batches(epoch: order)
        defer { batches.stop() }
        var sumError = 0.0, sumRelative = 0.0, count = 0
        while let batch = try batches.next() {
            try context.checkCancellation()
            let (loss, reference) = try step(batch)
            guard loss.isFinite else { throw StageFailure(diverged(loss, batch, count + 1)) }
            sumError += loss.squareRoot()
            if reference > 0 { sumRelative += loss / reference }
            count += 1
            clock.doneBatches += 1
            clock.batchesThisRun += 1
            let perBatch = Date().timeIntervalSince(clock.started) / Double(clock.batchesThisRun)
            let eta = Self.duration(perBatch * Double(clock.totalBatches - clock.doneBatches))
            context.progress(clock.doneBatches, of: clock.totalBatches,
                             "\(label), loss \(String(format: "%.4g", loss)), eta \(eta)")
        }
        guard count > 0 else {
            throw StageFailure("the training split is empty; give deepssm-loaders more samples")
        }
        return Errors(error: sumError / Double(count), relativeError: sumRelative / Double(count))
    }

    /// Precise batch norm: replaces the batch-norm running statistics (the
    /// moving average of the last training batches, of augmented images) by
    /// the average over the first `samples` training samples of a fixed seeded
    /// order (whole batches, as stored, without intensity augmentation),
    /// computed with the weights as they are now. 0 samples: nothing changes.
    func recomputeBatchNormStatistics(samples: Int) throws {
        guard samples > 0 else { return }
        let batches = train.batches(epoch: 0)
        defer { batches.stop() }
        var used = 0
        while used < samples, let batch = try batches.next() {
            try context.checkCancellation()
            try network.accumulateBatchNormStatistics(images: batch.images, shape: shape, reset: used == 0)
            used += batch.count
        }
    }

    /// Validation errors, each sample on its own as in the reference (batch 1);
    /// evaluation mode makes the result independent of how samples are batched.
    /// With a decoder, the errors are on particles (mm) and relative to the
    /// decoder's mean shape.
    /// `particles` (score validation only) adds the particle errors of the same
    /// predictions through that decoder.
    func validate(decoder: PCADecoder? = nil, particles: PCADecoder? = nil) throws -> Errors {
        let batches = feed?.validationBatches(validation) ?? validation.batches(epoch: 0)
        defer { batches.stop() }
        let k = network.outputCount
        var sumError = 0.0, sumRelative = 0.0, count = 0
        var particleError = 0.0, particleRelative = 0.0
        while let batch = try batches.next() {
            try context.checkCancellation()
            let scores = try feed?.evaluate(batch, network: network) ?? network.evaluateBatch(images: batch.images, shape: shape)
            if decoder == nil, let particles {
                Self.addErrors(particles.decode(scores), particles.decode(batch.targets), count: batch.count,
                               width: particles.particleValues, center: particles.bias,
                               rmse: &particleError, relative: &particleRelative)
            }
            // Scores are compared as they are (reference: zero), particles after
            // decoding (reference: the decoder's mean shape).
            Self.addErrors(decoder?.decode(scores) ?? scores, decoder?.decode(batch.targets) ?? batch.targets,
                           count: batch.count, width: decoder?.particleValues ?? k, center: decoder?.bias ?? [0],
                           rmse: &sumError, relative: &sumRelative)
            count += batch.count
        }
        guard count > 0 else {
            throw StageFailure("the validation split is empty; give deepssm-loaders a larger pool or validation fraction")
        }
        var errors = Errors(error: sumError / Double(count), relativeError: sumRelative / Double(count))
        if decoder == nil, particles != nil {
            errors.particles = (particleError / Double(count), particleRelative / Double(count))
        }
        return errors
    }

    /// Adds, sample by sample, the √MSE of each of the `count` rows of `width`
    /// values of `predictions` against `targets` to `rmse`, and its MSE relative
    /// to the targets' mean square distance from `center` to `relative`.
    static func addErrors(_ predictions: [Float], _ targets: [Float], count: Int, width: Int, center: [Float],
                          rmse: inout Double, relative: inout Double) {
        for s in 0..<count {
            let range = (s * width)..<((s + 1) * width)
            var sum = 0.0
            for i in range {
                let d = Double(predictions[i]) - Double(targets[i])
                sum += d * d
            }
            let mse = sum / Double(width)
            rmse += mse.squareRoot()
            let reference = meanSquareDistance(Array(targets[range]), center)
            if reference > 0 { relative += mse / reference }
        }
    }

    /// Mean squared difference of `values` (whole vectors of `center.count`) from `center`.
    static func meanSquareDistance(_ values: [Float], _ center: [Float]) -> Double {
        guard !values.isEmpty, !center.isEmpty else { return 0 }
        var sum = 0.0
        for (i, v) in values.enumerated() {
            let d = Double(v) - Double(center[i % center.count])
            sum += d * d
        }
        return sum / Double(values.count)
    }

    static func meanSquare(_ values: [Float]) -> Double { meanSquareDistance(values, [0]) }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
                         : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
