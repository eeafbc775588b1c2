import Foundation
import TorchKit
import Workflow

/// The epochs of a TL-DeepSSM training over the loaders' splits. The training
/// particles of each sample are its whitened scores through the fixed PCA
/// decoder (exactly a generated sample's particles; a training subject's
/// projection on the K modes).
final class TLTrainingLoop {
    let network: TLDeepSSMNetwork
    let train: BatchReader
    let validation: BatchReader
    let decoder: PCADecoder
    let alpha: Double
    /// Live intensity augmentation of the images of the T-flank and joint phases.
    var augmentation = IntensityAugmentation()
    private let context: StageContext
    private let shape: InputShape

    init(network: TLDeepSSMNetwork, train: BatchReader, validation: BatchReader, decoder: PCADecoder,
         alpha: Double, context: StageContext) {
        self.network = network
        self.train = train
        self.validation = validation
        self.decoder = decoder
        self.alpha = alpha
        self.context = context
        shape = network.inputShape
    }

    /// Trains epoch `epoch` of `phase` in the sample order of `order`; returns
    /// its row (training errors only). Throws, naming the batch, on divergence.
    func trainEpoch(_ phase: TLDeepSSMNetwork.Phase, epoch: Int, of epochs: Int, order: Int, rate: Double,
                    clock: inout TrainingLoop.Clock) throws -> TLEpoch {
        let batches = train.batches(epoch: order)
        defer { batches.stop() }
        var particleSum = 0.0, latentSum = 0.0, count = 0
        while let batch = try batches.next() {
            try context.checkCancellation()
            let particles = decoder.decode(batch.targets)
            var images: [Float] = []
            if phase != .autoencoder {
                images = batch.images
                augmentation.apply(to: &images, positions: batch.indices, epoch: order,
                                   shape: (shape.depth, shape.height, shape.width))
            }
            let errors = try network.trainBatch(phase, images: images, particles: particles, alpha: alpha)
            guard errors.particleMSE.isFinite, errors.latentMSE.isFinite else {
                throw StageFailure("TL-DeepSSM training diverged in \(phase.rawValue) epoch \(epoch), batch \(count + 1) (samples \(batch.ids.joined(separator: ", "))): the loss is not finite; the weights were not updated and the previous checkpoint stays in the cache; lower learning_rate or check those images for NaN")
            }
            particleSum += errors.particleMSE.squareRoot()
            latentSum += errors.latentMSE.squareRoot()
            count += 1
            clock.doneBatches += 1
            clock.batchesThisRun += 1
            let perBatch = Date().timeIntervalSince(clock.started) / Double(clock.batchesThisRun)
            let eta = TrainingLoop.duration(perBatch * Double(clock.totalBatches - clock.doneBatches))
            context.progress(clock.doneBatches, of: clock.totalBatches,
                             "TL \(phase.rawValue) \(epoch)/\(epochs), eta \(eta)")
        }
        guard count > 0 else { throw StageFailure("the training split is empty; give deepssm-loaders more samples") }
        let n = Double(count)
        return TLEpoch(phase: phase.rawValue, epoch: epoch, learningRate: rate,
                       trainParticleRMSE: phase == .tflank ? nil : particleSum / n,
                       trainLatentRMSE: phase == .autoencoder ? nil : latentSum / n)
    }

    /// Fills the validation errors of `row`, one sample at a time: the
    /// autoencoder's always, the image encoder's after the autoencoder phase.
    func validate(_ row: inout TLEpoch) throws {
        let withImages = row.phase != TLDeepSSMNetwork.Phase.autoencoder.rawValue
        let batches = validation.batches(epoch: 0)
        defer { batches.stop() }
        let p = decoder.particleValues, l = network.latentSize
        var sums = [Double](repeating: 0, count: 5), count = 0
        while let batch = try batches.next() {
            try context.checkCancellation()
            let particles = decoder.decode(batch.targets)
            let (code, reconstructed) = try network.autoencode(particles: particles)
            var predicted: (latent: [Float], particles: [Float])? = nil
            if withImages { predicted = try network.predict(images: batch.images) }
            for s in 0..<batch.count {
                let truth = Array(particles[(s * p)..<((s + 1) * p)])
                let mse = Self.meanSquare(reconstructed[(s * p)..<((s + 1) * p)], truth)
                sums[0] += mse.squareRoot()
                let reference = TrainingLoop.meanSquareDistance(truth, decoder.bias)
                if reference > 0 { sums[1] += mse / reference }
                if let predicted {
                    let target = Array(code[(s * l)..<((s + 1) * l)])
                    let latentMSE = Self.meanSquare(predicted.latent[(s * l)..<((s + 1) * l)], target)
                    sums[2] += latentMSE.squareRoot()
                    let zero = TrainingLoop.meanSquare(target)
                    if zero > 0 { sums[3] += latentMSE / zero }
                    sums[4] += Self.meanSquare(predicted.particles[(s * p)..<((s + 1) * p)], truth).squareRoot()
                }
                count += 1
            }
        }
        guard count > 0 else {
            throw StageFailure("the validation split is empty; give deepssm-loaders a larger pool or validation fraction")
        }
        let mean = sums.map { $0 / Double(count) }
        row.valParticleRMSE = mean[0]
        row.valParticleRelativeError = mean[1]
        if withImages {
            row.valLatentRMSE = mean[2]
            row.valLatentRelativeError = mean[3]
            row.valPredictionRMSE = mean[4]
        }
    }

    static func meanSquare(_ values: ArraySlice<Float>, _ truth: [Float]) -> Double {
        var sum = 0.0
        for (v, t) in zip(values, truth) {
            let d = Double(v) - Double(t)
            sum += d * d
        }
        return truth.isEmpty ? 0 : sum / Double(truth.count)
    }
}
