import Foundation
import TorchKit
import Workflow

/// The memoized state after one epoch of a TL-DeepSSM phase: the model with
/// its Adam state (`checkpoint.h5`) and the history so far (`history.json`).
/// Keyed by the training's inputs and parameters without those the phase does
/// not depend on (`DeepSSMTrain.tlMemoIgnored`), and named by the phase, the
/// epoch and the epoch counts of the phases before it, so that raising a
/// phase's epochs resumes from its last stored epoch.
struct TLEpochCheckpoint {
    var phase: TLDeepSSMNetwork.Phase
    var epoch: Int
    var checkpoint: NetworkCheckpoint
    var history: TLHistory

    /// `before`: the epoch counts of the earlier phases (autoencoder, T-flank).
    static func slot(_ phase: TLDeepSSMNetwork.Phase, epoch: Int, before: [Int], context: StageContext) -> MemoSlot {
        let lineage = before.map { "-\($0)" }.joined()
        return context.memo("tl-\(phase.rawValue)\(lineage)-epoch-\(epoch)", ignoring: DeepSSMTrain.tlMemoIgnored(phase))
    }

    /// The lock of this training's TL epochs, held while the stage trains.
    static func claimLine(context: StageContext) throws -> MemoClaim {
        try context.memo("tl-epoch-line", ignoring: DeepSSMTrain.tlMemoIgnored(.joint)).claim()
    }

    /// The stored epoch ≤ `last` of `phase` closest to it, or nil.
    static func latest(_ phase: TLDeepSSMNetwork.Phase, upTo last: Int, before: [Int],
                       context: StageContext) throws -> Self? {
        for epoch in stride(from: last, through: 1, by: -1) {
            if let found = try lookup(phase, epoch: epoch, before: before, context: context) { return found }
        }
        return nil
    }

    static func lookup(_ phase: TLDeepSSMNetwork.Phase, epoch: Int, before: [Int], context: StageContext) throws -> Self? {
        guard let directory = try slot(phase, epoch: epoch, before: before, context: context).lookup() else { return nil }
        do {
            let checkpoint = try NetworkCheckpoint(contentsOf: directory.appendingPathComponent("checkpoint.h5"))
            let history = try JSONDecoder().decode(
                TLHistory.self, from: Data(contentsOf: directory.appendingPathComponent("history.json")))
            return Self(phase: phase, epoch: epoch, checkpoint: checkpoint, history: history)
        } catch {
            throw StageFailure("cannot read the stored TL-DeepSSM checkpoint of \(phase.rawValue) epoch \(epoch) at \(directory.path) (\(error)); clear this stage's cache entry and train again")
        }
    }

    func store(before: [Int], context: StageContext) throws {
        _ = try Self.slot(phase, epoch: epoch, before: before, context: context).get(in: context.scratchDirectory) { directory in
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try DeepSSMTrain.torch { try checkpoint.write(to: directory.appendingPathComponent("checkpoint.h5")) }
            try history.encoded().write(to: directory.appendingPathComponent("history.json"))
        }
    }
}
