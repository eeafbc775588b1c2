import Foundation
import GeometryKit

/// The per-epoch record of a DeepSSM training (docs/reference.md §4): errors on whitened
/// PCA scores and the learning rate of each epoch. No wall-clock time: the
/// record is part of every epoch's checkpoint and of the `log` artefact, which
/// must not depend on when or where they were made (times are run metrics).
public struct TrainingEpoch: Codable, Sendable, Equatable {
    public var epoch: Int
    public var learningRate: Double
    /// Mean over batches of √MSE.
    public var trainError: Double
    /// Mean over batches of MSE(prediction, z) / MSE(0, z).
    public var trainRelativeError: Double
    /// The same two over the validation samples, one sample at a time; nil in
    /// epochs without validation (`val_freq`).
    public var valError: Double?
    public var valRelativeError: Double?

    public init(epoch: Int, learningRate: Double, trainError: Double, trainRelativeError: Double,
                valError: Double? = nil, valRelativeError: Double? = nil) {
        self.epoch = epoch
        self.learningRate = learningRate
        self.trainError = trainError
        self.trainRelativeError = trainRelativeError
        self.valError = valError
        self.valRelativeError = valRelativeError
    }

    enum CodingKeys: String, CodingKey {
        case epoch, learningRate = "lr", trainError = "train_error", trainRelativeError = "train_rel_error"
        case valError = "val_error", valRelativeError = "val_rel_error"
    }
}

/// Every finished epoch of one training, oldest first: what each epoch's
/// checkpoint carries, so a resumed training keeps the earlier rows.
///
/// `epochs` are the epochs on whitened PCA scores; `fineTune` the optional
/// fine-tuning epochs on particles through the fixed PCA decoder, numbered from
/// 1, whose errors are in mm: √MSE over particle coordinates, and the relative
/// error MSE(prediction, p) / MSE(pool mean shape, p).
public struct TrainingHistory: Codable, Sendable, Equatable {
    public var epochs: [TrainingEpoch] = []
    public var fineTune: [TrainingEpoch] = []

    public init(epochs: [TrainingEpoch] = [], fineTune: [TrainingEpoch] = []) {
        self.epochs = epochs
        self.fineTune = fineTune
    }

    enum CodingKeys: String, CodingKey { case epochs, fineTune = "fine_tune" }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        epochs = try container.decode([TrainingEpoch].self, forKey: .epochs)
        fineTune = try container.decodeIfPresent([TrainingEpoch].self, forKey: .fineTune) ?? []
    }

    /// The validated epoch with the lowest mean validation relative error (the
    /// earliest on ties); nil when no epoch was validated.
    public var bestEpoch: TrainingEpoch? { Self.best(of: epochs) }

    /// The same over the fine-tuning epochs.
    public var bestFineTuneEpoch: TrainingEpoch? { Self.best(of: fineTune) }

    private static func best(of rows: [TrainingEpoch]) -> TrainingEpoch? {
        rows.filter { $0.valRelativeError != nil }
            .min { ($0.valRelativeError!, $0.epoch) < ($1.valRelativeError!, $1.epoch) }
    }

    /// The history up to and including epoch `last` (and fine-tuning epoch
    /// `fineTuneLast`; none by default).
    public func prefix(through last: Int, fineTuneThrough fineTuneLast: Int = 0) -> TrainingHistory {
        TrainingHistory(epochs: epochs.filter { $0.epoch <= last },
                        fineTune: fineTune.filter { $0.epoch <= fineTuneLast })
    }

    /// `epoch,lr,train_error,train_rel_error,val_error,val_rel_error,phase`,
    /// one row per epoch, `phase` being `train` (errors on whitened scores) or
    /// `fine-tune` (errors in mm on particles); an epoch without validation
    /// leaves those cells empty.
    public var csv: String {
        var lines = ["epoch,lr,train_error,train_rel_error,val_error,val_rel_error,phase"]
        for (phase, rows) in [("train", epochs), ("fine-tune", fineTune)] {
            for e in rows {
                let cells = [
                    "\(e.epoch)", Self.number(e.learningRate), Self.number(e.trainError),
                    Self.number(e.trainRelativeError), e.valError.map(Self.number) ?? "",
                    e.valRelativeError.map(Self.number) ?? "", phase,
                ]
                lines.append(cells.joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Train and validation error per epoch as a PNG, on a log scale when `logScale`.
    public func plot(to url: URL, logScale: Bool) throws {
        let validated = epochs.filter { $0.valError != nil }
        var series = [Plot.Series(name: "train error", x: epochs.map { Double($0.epoch) },
                                  y: epochs.map(\.trainError))]
        if !validated.isEmpty {
            series.append(Plot.Series(name: "validation error", x: validated.map { Double($0.epoch) },
                                      y: validated.map { $0.valError! }))
        }
        // Fine-tuning continues the epoch axis; its errors are particle RMSE in mm.
        let offset = Double(epochs.last?.epoch ?? 0)
        if !fineTune.isEmpty {
            series.append(Plot.Series(name: "fine-tune train RMSE (mm)", x: fineTune.map { offset + Double($0.epoch) },
                                      y: fineTune.map(\.trainError)))
            let tunedValidation = fineTune.filter { $0.valError != nil }
            if !tunedValidation.isEmpty {
                series.append(Plot.Series(name: "fine-tune validation RMSE (mm)",
                                          x: tunedValidation.map { offset + Double($0.epoch) },
                                          y: tunedValidation.map { $0.valError! }))
            }
        }
        // A one-point line draws nothing (VTK complains); show a single epoch's
        // value as a short level segment centred on it instead.
        series = series.map { s in
            guard s.x.count == 1 else { return s }
            return Plot.Series(name: s.name, x: [s.x[0] - 0.25, s.x[0] + 0.25], y: [s.y[0], s.y[0]])
        }
        try Plot.lines(series, title: "DeepSSM training", xLabel: "epoch",
                       yLabel: fineTune.isEmpty ? "RMSE of whitened PCA scores"
                           : "RMSE: whitened scores, then particles (mm)", logY: logScale, to: url)
    }

    private static func number(_ value: Double) -> String { String(format: "%.8g", value) }

    /// JSON with sorted keys, so the same history gives the same bytes.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(self)
    }
}
