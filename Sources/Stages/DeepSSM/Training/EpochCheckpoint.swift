import Foundation
import TorchKit
import Workflow

/// The memoized state after one epoch: the network with its Adam and
/// generator state (`checkpoint.h5`) and the history so far (`history.json`).
/// A training epoch is keyed by the training inputs and parameters without
/// `epochs`, so any training that shares them can resume from it; a
/// fine-tuning epoch by the same with `epochs` (fine-tuning starts from the
/// best of them) and without `fine_tune_epochs`.
struct EpochCheckpoint {
    enum Phase {
        case training, fineTuning

        var slotPrefix: String { self == .training ? "epoch" : "fine-tune-epoch" }
        var ignoredParameters: Set<String> {
            self == .training ? DeepSSMTrain.memoIgnored : DeepSSMTrain.fineTuneMemoIgnored
        }
        /// The checkpoint attribute that holds the epoch number.
        var attribute: String { self == .training ? "epoch" : "fine_tune_epoch" }
    }

    var phase: Phase = .training
    var epoch: Int
    var checkpoint: NetworkCheckpoint
    var history: TrainingHistory

    static func slot(epoch: Int, phase: Phase, context: StageContext) -> MemoSlot {
        context.memo("\(phase.slotPrefix)-\(epoch)", ignoring: phase.ignoredParameters)
    }

    /// The lock of this training's line of epoch memos (keyed like them, by
    /// everything but `epochs`): held from looking for a checkpoint to resume
    /// from until the stage ends, so two runs never train the same epoch at
    /// once; the second resumes from what the first stored.
    static func claimLine(context: StageContext) throws -> MemoClaim {
        try context.memo("epoch-line", ignoring: Phase.training.ignoredParameters).claim()
    }

    /// The stored checkpoint of the latest epoch ≤ `last`, or nil when none is stored.
    static func latest(upTo last: Int, phase: Phase = .training, context: StageContext) throws -> Self? {
        for epoch in stride(from: last, through: 1, by: -1) {
            if let found = try lookup(epoch: epoch, phase: phase, context: context) { return found }
        }
        return nil
    }

    static func lookup(epoch: Int, phase: Phase = .training, context: StageContext) throws -> Self? {
        guard let directory = try slot(epoch: epoch, phase: phase, context: context).lookup() else { return nil }
        do {
            let checkpoint = try NetworkCheckpoint(contentsOf: directory.appendingPathComponent("checkpoint.h5"))
            let history = try JSONDecoder().decode(
                TrainingHistory.self, from: Data(contentsOf: directory.appendingPathComponent("history.json")))
            return Self(phase: phase, epoch: epoch, checkpoint: checkpoint, history: history)
        } catch {
            throw StageFailure("cannot read the stored checkpoint of epoch \(epoch) at \(directory.path) (\(error)); clear this stage's cache entry and train again")
        }
    }

    func store(context: StageContext) throws {
        let slot = Self.slot(epoch: epoch, phase: phase, context: context)
        _ = try slot.get(in: context.scratchDirectory) { directory in
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try DeepSSMTrain.torch { try checkpoint.write(to: directory.appendingPathComponent("checkpoint.h5")) }
            try history.encoded().write(to: directory.appendingPathComponent("history.json"))
        }
    }
}
