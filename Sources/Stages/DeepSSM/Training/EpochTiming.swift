import Foundation
import Workflow

/// Wall-clock seconds of the epochs trained in this run. They go to the run
/// record (the stage's metrics and log), never into an artefact or a
/// checkpoint, so that a resumed training writes the bytes of a straight one.
struct EpochTiming {
    private(set) var training: [Double] = []
    private(set) var fineTuning: [Double] = []

    mutating func add(_ seconds: Double, phase: EpochCheckpoint.Phase) {
        switch phase {
        case .training: training.append(seconds)
        case .fineTuning: fineTuning.append(seconds)
        }
    }

    /// `epoch_seconds` / `fine_tune_epoch_seconds`: the mean over the epochs
    /// trained now (none when every epoch came from the cache).
    func record(context: StageContext) {
        if !training.isEmpty { context.metric("epoch_seconds", training.reduce(0, +) / Double(training.count)) }
        if !fineTuning.isEmpty {
            context.metric("fine_tune_epoch_seconds", fineTuning.reduce(0, +) / Double(fineTuning.count))
        }
    }
}
