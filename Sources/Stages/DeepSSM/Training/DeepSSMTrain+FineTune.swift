import Foundation
import TorchKit
import Workflow

extension DeepSSMTrain {
    /// Fine-tunes on particles from the best training epoch (or resumes a
    /// stored fine-tuning epoch), one memoized checkpoint per epoch.
    func fineTune(_ params: Params, lastEpoch: Int, decoder: PCADecoder, device: TorchDevice, trained: DeepSSMNetwork,
                  history base: TrainingHistory, trainer: TrainingLoop, context: StageContext,
                  timing: inout EpochTiming) throws -> (DeepSSMNetwork, TrainingHistory) {
        let total = params.fine_tune_epochs
        let network: DeepSSMNetwork
        var history: TrainingHistory
        if let resumed = try EpochCheckpoint.latest(upTo: total, phase: .fineTuning, context: context) {
            network = try Self.torch { try resumed.checkpoint.makeNetwork(device: device) }
            history = resumed.history
            context.log("resuming fine-tuning from the checkpoint of fine-tuning epoch \(resumed.epoch) of \(total)")
        } else {
            let best = base.bestEpoch?.epoch ?? lastEpoch
            if best == lastEpoch {
                network = trained
            } else {
                guard let stored = try EpochCheckpoint.lookup(epoch: best, context: context) else {
                    throw StageFailure("the checkpoint of the best epoch (\(best)) is no longer in the cache; rerun this stage with its cache entry cleared to train again")
                }
                network = try Self.torch { try stored.checkpoint.weightsOnly().makeNetwork(device: device) }
            }
            try Self.torch { try network.resetOptimizer(learningRate: params.fine_tune_learning_rate) }
            history = base
            context.log("fine-tuning \(total) epoch(s) on particles (\(decoder.particleValues / 3) particles) from epoch \(best), learning rate \(params.fine_tune_learning_rate)")
        }
        try Self.torch { try network.setDecoder(weight: decoder.weight, bias: decoder.bias) }
        try StagePrecision.apply(params.precision, to: network)
        let tuner = TrainingLoop(network: network, train: trainer.train, validation: trainer.validation,
                                   context: context)
        let first = (history.fineTune.last?.epoch ?? 0) + 1
        var clock = TrainingLoop.Clock(totalBatches: total * trainer.train.batchesPerEpoch,
                                         doneBatches: (first - 1) * trainer.train.batchesPerEpoch)
        if first <= total {
            for epoch in first...total {
                let started = Date()
                try Self.torch { try Torch.manualSeed(Self.epochSeed(params.seed, epoch: params.epochs + epoch)) }
                try Self.torch { try network.setLearningRate(params.fine_tune_learning_rate) }
                let trained = try Self.torch {
                    try tuner.fineTuneEpoch(epoch, of: total, order: params.epochs + epoch, decoder: decoder, clock: &clock)
                }
                try Self.torch { try tuner.recomputeBatchNormStatistics(samples: params.preciseBatchNormSamples) }
                let validated = epoch % params.val_freq == 0 ? try Self.torch { try tuner.validate(decoder: decoder) } : nil
                try Self.finishEpoch(epoch, phase: .fineTuning, rate: params.fine_tune_learning_rate, trained: trained,
                                     validated: validated, started: started, network: network, history: &history,
                                     context: context, timing: &timing)
            }
        }
        return (network, history.prefix(through: params.epochs, fineTuneThrough: total))
    }
}
