import Foundation
import TorchKit
import Workflow

/// The memoized state after one training epoch: the network with its Adam
/// and generator state (`checkpoint.h5`) and the history so far
/// (`history.json`). Keyed by the training inputs and parameters without
/// `epochs`, so any training that shares them can resume from it.
struct EpochCheckpoint: StoredEpoch {
    var epoch: Int
    var checkpoint: NetworkCheckpoint
    var history: TrainingHistory

    static func slot(epoch: Int, context: StageContext) -> MemoSlot {
        context.memo("epoch-\(epoch)", ignoring: DeepSSMTrain.memoIgnored)
    }

    init(epoch: Int, checkpoint: NetworkCheckpoint, history: TrainingHistory) {
        self.epoch = epoch
        self.checkpoint = checkpoint
        self.history = history
    }
}

/// The memoized state after one fine-tuning epoch; keyed like `EpochCheckpoint`
/// but with `epochs` (fine-tuning starts from the best of them) and without
/// `fine_tune_epochs`.
struct FineTuneCheckpoint: StoredEpoch {
    var epoch: Int
    var checkpoint: NetworkCheckpoint
    var history: TrainingHistory

    static func slot(epoch: Int, context: StageContext) -> MemoSlot {
        context.memo("fine-tune-epoch-\(epoch)", ignoring: DeepSSMTrain.fineTuneMemoIgnored)
    }

    init(epoch: Int, checkpoint: NetworkCheckpoint, history: TrainingHistory) {
        self.epoch = epoch
        self.checkpoint = checkpoint
        self.history = history
    }
}

/// A per-epoch checkpoint and history in a memo slot of its own.
protocol StoredEpoch {
    var epoch: Int { get }
    var checkpoint: NetworkCheckpoint { get }
    var history: TrainingHistory { get }
    static func slot(epoch: Int, context: StageContext) -> MemoSlot
    init(epoch: Int, checkpoint: NetworkCheckpoint, history: TrainingHistory)
}

extension StoredEpoch {
    /// The stored checkpoint of the latest epoch ≤ `last`, or nil when none is stored.
    static func latest(upTo last: Int, context: StageContext) throws -> Self? {
        for epoch in stride(from: last, through: 1, by: -1) {
            if let found = try lookup(epoch: epoch, context: context) { return found }
        }
        return nil
    }

    static func lookup(epoch: Int, context: StageContext) throws -> Self? {
        guard let directory = try slot(epoch: epoch, context: context).lookup() else { return nil }
        do {
            let checkpoint = try NetworkCheckpoint(contentsOf: directory.appendingPathComponent("checkpoint.h5"))
            let history = try JSONDecoder().decode(
                TrainingHistory.self, from: Data(contentsOf: directory.appendingPathComponent("history.json")))
            return Self(epoch: epoch, checkpoint: checkpoint, history: history)
        } catch {
            throw StageFailure("cannot read the stored checkpoint of epoch \(epoch) at \(directory.path) (\(error)); clear this stage's cache entry and train again")
        }
    }

    func store(context: StageContext) throws {
        let slot = Self.slot(epoch: epoch, context: context)
        _ = try slot.get(in: context.scratchDirectory) { directory in
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try DeepSSMTrain.torch { try checkpoint.write(to: directory.appendingPathComponent("checkpoint.h5")) }
            try history.encoded().write(to: directory.appendingPathComponent("history.json"))
        }
    }
}
