import Foundation
import TorchKit
import Workflow

/// The training loop's batches where they do not come the default way (CPU,
/// streamed, one loss read back per batch):
///
/// - **resident**: the training and validation splits uploaded once to the
///   network's device (`DeviceDataset`); each batch is gathered there by index
///   from the epoch's seeded order, and only indices, ids and targets (for the
///   relative error) are read from the loader files;
/// - **deferred losses** (CUDA): each step's loss stays queued on the GPU and
///   is read back only when progress is logged (every `readbackSeconds` or
///   `readbackBatches`) and at the end of the epoch, so the host never waits for
///   the GPU between batches; streamed batches then go through pinned memory
///   with non-blocking copies while the prefetch thread reads the next ones.
///
/// Either way the epoch's errors are the same sums of the same doubles in the
/// same order as the default path, so a resident CPU training writes the bytes
/// of a streamed one.
final class BatchFeed {
    struct Resident {
        var train: DeviceDataset
        /// Nil when the validation split is empty (validation then says so).
        var validation: DeviceDataset?
    }

    let resident: Resident?
    let deferred: Bool
    var readbackSeconds = 1.0
    var readbackBatches = 50
    private let context: StageContext

    init(resident: Resident?, deferred: Bool, context: StageContext) {
        self.resident = resident
        self.deferred = deferred
        self.context = context
    }

    /// The feed of `params.residency` for `network`, after uploading the
    /// splits when they go on the device; nil for the default path (the CPU,
    /// streamed). Throws before training when `residency: device` does not fit.
    static func make(_ params: DeepSSMTrain.Params, network: DeepSSMNetwork, train: BatchReader,
                     validation: BatchReader, context: StageContext) throws -> BatchFeed? {
        let residency = params.residency.flatMap(StageResidency.init(rawValue:)) ?? .auto
        let device = network.device
        let bf16 = device == .cuda && params.precision == TorchPrecision.bf16.rawValue
        let decision = try residency.resident(device: device, train: train.count, validation: validation.count,
                                              shape: network.inputShape, outputs: network.outputCount,
                                              batchSize: params.batch_size, bf16Images: bf16,
                                              augmentation: params.intensity_augmentation)
        let deferred = device == .cuda
        guard decision.resident || deferred else { return nil }
        var splits: Resident?
        if decision.resident {
            let started = Date()
            splits = try DeepSSMTrain.torch {
                let held = try upload(train, to: network, bf16Images: bf16)
                var checked: DeviceDataset?
                if validation.count > 0 { checked = try upload(validation, to: network, bf16Images: bf16) }
                return Resident(train: held, validation: checked)
            }
            context.log(String(format: "splits resident on %@ (%@), uploaded in %.1f s",
                               device.rawValue, decision.reason, Date().timeIntervalSince(started)))
        } else {
            context.log("batches streamed from the loader files (\(decision.reason))")
        }
        if deferred { context.log("losses stay on the GPU between progress lines (no host synchronisation per batch)") }
        return BatchFeed(resident: splits, deferred: deferred, context: context)
    }

    /// `reader`'s samples on `network`'s device, read and copied in chunks of about 64 MB.
    static func upload(_ reader: BatchReader, to network: DeepSSMNetwork, bf16Images: Bool) throws -> DeviceDataset {
        let data = try DeviceDataset(network: network, count: reader.count, bf16Images: bf16Images)
        let chunk = max(1, (64 << 20) / max(reader.imageCount * 4, 1))
        for first in stride(from: 0, to: reader.count, by: chunk) {
            let batch = try reader.read(Array(first..<min(first + chunk, reader.count)))
            try data.upload(first: first, images: batch.images, targets: batch.targets)
        }
        return data
    }

    /// A step whose loss has not been accounted yet.
    private struct Pending {
        var number: Int
        var ids: [String]
        var reference: Double
        var loss: Double?
    }

    /// Training epoch `epoch` of `loop`'s network (its own seeded sample order).
    func trainEpoch(_ epoch: Int, of epochs: Int, loop: TrainingLoop,
                    clock: inout TrainingLoop.Clock) throws -> TrainingLoop.Errors {
        let network = loop.network, shape = loop.shape
        if deferred, network.queuedLosses > 0 { _ = try network.takeLosses() }
        let batches = loop.train.batches(epoch: epoch, images: resident == nil)
        defer { batches.stop() }
        var sums = (error: 0.0, relative: 0.0, count: 0)
        var pending: [Pending] = []
        var lastRead = Date()
        while let batch = try batches.next() {
            try context.checkCancellation()
            var loss: Double?
            if let resident {
                loss = try network.trainBatch(resident.train, indices: batch.indices, deferred: deferred)
            } else {
                var images = batch.images
                loop.augmentation.apply(to: &images, positions: batch.indices, epoch: epoch,
                                        shape: (shape.depth, shape.height, shape.width))
                if deferred {
                    try network.trainBatchDeferred(images: images, shape: shape, targets: batch.targets)
                } else {
                    loss = try network.trainBatch(images: images, shape: shape, targets: batch.targets)
                }
            }
            pending.append(Pending(number: sums.count + pending.count + 1, ids: batch.ids,
                                   reference: TrainingLoop.meanSquare(batch.targets), loss: loss))
            let last = sums.count + pending.count == batches.count
            guard !deferred || last || pending.count >= readbackBatches
                || Date().timeIntervalSince(lastRead) >= readbackSeconds else { continue }
            let latest = try settle(&pending, epoch: epoch, network: network, into: &sums)
            lastRead = Date()
            clock.doneBatches += latest.batches
            clock.batchesThisRun += latest.batches
            let perBatch = Date().timeIntervalSince(clock.started) / Double(clock.batchesThisRun)
            let eta = TrainingLoop.duration(perBatch * Double(clock.totalBatches - clock.doneBatches))
            context.progress(clock.doneBatches, of: clock.totalBatches,
                             "epoch \(epoch)/\(epochs), loss \(String(format: "%.4g", latest.loss)), eta \(eta)")
        }
        guard sums.count > 0 else {
            throw StageFailure("the training split is empty; give deepssm-loaders more samples")
        }
        return TrainingLoop.Errors(error: sums.error / Double(sums.count),
                                   relativeError: sums.relative / Double(sums.count))
    }

    /// Accounts the pending steps in order (reading the queued losses back
    /// first when deferred); throws at the first non-finite loss, naming it.
    private func settle(_ pending: inout [Pending], epoch: Int, network: DeepSSMNetwork,
                        into sums: inout (error: Double, relative: Double, count: Int)) throws
        -> (batches: Int, loss: Double) {
        let losses: [Double]
        if deferred {
            losses = try DeepSSMTrain.torch { try network.takeLosses() }
        } else {
            losses = pending.map { $0.loss ?? .nan }
        }
        guard losses.count == pending.count else {
            throw StageFailure("read back \(losses.count) losses for \(pending.count) training batches of epoch \(epoch); this is a bug in the training loop, please report it")
        }
        let range = "\(pending.first?.number ?? 0)–\(pending.last?.number ?? 0)"
        for (step, loss) in zip(pending, losses) {
            guard loss.isFinite else {
                let samples = step.ids.joined(separator: ", ")
                if deferred {
                    throw StageFailure("training diverged: the loss is \(loss) in epoch \(epoch), batch \(step.number) (samples \(samples)), read back with batches \(range); the GPU went on past it, so this epoch's weights are discarded and the checkpoint of epoch \(epoch - 1) stays in the cache; check those images for NaN or lower learning_rate")
                }
                throw StageFailure("training diverged: the loss is \(loss) in epoch \(epoch), batch \(step.number) (samples \(samples)); the weights were not updated and the checkpoint of epoch \(epoch - 1) stays in the cache; check those images for NaN or lower learning_rate")
            }
            sums.error += loss.squareRoot()
            if step.reference > 0 { sums.relative += loss / step.reference }
            sums.count += 1
        }
        let count = pending.count
        pending.removeAll(keepingCapacity: true)
        return (count, losses.last ?? .nan)
    }

    /// The validation batches: targets and ids only when the split is resident.
    func validationBatches(_ reader: BatchReader) -> BatchReader.Epoch {
        reader.batches(epoch: 0, images: resident?.validation == nil)
    }

    /// Predicted scores of a validation batch gathered on the device; nil when
    /// the validation split is not resident (the caller evaluates the batch's images).
    func evaluate(_ batch: BatchReader.Batch, network: DeepSSMNetwork) throws -> [Float]? {
        guard let data = resident?.validation else { return nil }
        return try network.evaluateBatch(data, indices: batch.indices)
    }
}
