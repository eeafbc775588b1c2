import Foundation
import GeometryKit

/// Particle accuracy of a prediction against what the shape model allows, per
/// test subject and over all of them, in the world (Procrustes) frame:
///
/// - `prediction`: the predicted particles;
/// - `mean shape`: the PCA mean (all scores zero), the ceiling to beat;
/// - `oracle`: the true shape projected onto the K retained modes,
///   `μ + U_K U_Kᵀ (p − μ)`, the floor no score regression can pass.
///
/// Each is the root-mean-square distance over corresponding particles (mm).
/// `achievable_gain_share` = (mean − prediction) / (mean − oracle), on these
/// particle RMSEs: 0 is no better than the mean shape, 1 is as good as the
/// shape model allows. It is written as `accuracy.json` by `deepssm-predict`.
public struct ParticleAccuracy: Codable, Sendable, Equatable {
    public struct Subject: Codable, Sendable, Equatable {
        public var id: String
        public var prediction: Double
        public var meanShape: Double
        public var oracle: Double

        public init(id: String, prediction: Double, meanShape: Double, oracle: Double) {
            self.id = id
            self.prediction = prediction
            self.meanShape = meanShape
            self.oracle = oracle
        }

        public var achievableGainShare: Double? {
            ParticleAccuracy.share(mean: meanShape, prediction: prediction, oracle: oracle)
        }

        enum CodingKeys: String, CodingKey {
            case id, prediction = "prediction_rmse_mm", meanShape = "mean_shape_rmse_mm", oracle = "oracle_rmse_mm"
        }
    }

    /// One retained mode over all subjects, as particle RMS (mm): the PCA
    /// modes are orthonormal, so a score error e adds e² / M to a subject's
    /// mean squared particle distance, and a subject's squared prediction
    /// error is its oracle's plus the sum of these over the K modes.
    public struct Mode: Codable, Sendable, Equatable {
        /// 1-based, as the PCA numbers its modes.
        public var mode: Int
        /// √(mean over subjects of (predicted − true score)² / M).
        public var prediction: Double
        /// The same for the mean shape (predicted score 0): how much the
        /// subjects vary along this mode.
        public var meanShape: Double

        public init(mode: Int, prediction: Double, meanShape: Double) {
            self.mode = mode
            self.prediction = prediction
            self.meanShape = meanShape
        }

        /// 1 − prediction² / meanShape²: the share of these subjects' variance
        /// along the mode that the prediction explains (1 exact, 0 no better
        /// than the mean, below 0 worse); nil when they do not vary along it.
        public var explained: Double? {
            meanShape > 1e-12 ? 1 - (prediction * prediction) / (meanShape * meanShape) : nil
        }

        enum CodingKeys: String, CodingKey {
            case mode, prediction = "prediction_rms_mm", meanShape = "mean_shape_rms_mm"
        }
    }

    /// K: the modes the oracle keeps.
    public var numModes: Int
    public var subjects: [Subject]
    /// Per retained mode, when the predicted scores are known.
    public var modes: [Mode]?

    public init(numModes: Int, subjects: [Subject], modes: [Mode]? = nil) {
        self.numModes = numModes
        self.subjects = subjects
        self.modes = modes
    }

    enum CodingKeys: String, CodingKey { case numModes = "num_modes", subjects, modes }

    /// Per-mode errors of `predicted` against `truth` scores (raw PCA scores,
    /// one row of K per subject) for shapes of `numParticles` particles.
    public static func modes(predicted: [[Double]], truth: [[Double]], numParticles: Int) -> [Mode] {
        precondition(predicted.count == truth.count, "one row of scores per subject")
        guard let k = truth.first?.count, numParticles > 0 else { return [] }
        let scale = Double(truth.count * numParticles)
        return (0..<k).map { m in
            let error = zip(predicted, truth).map { ($0[m] - $1[m]) * ($0[m] - $1[m]) }.reduce(0, +)
            let spread = truth.map { $0[m] * $0[m] }.reduce(0, +)
            return Mode(mode: m + 1, prediction: (error / scale).squareRoot(), meanShape: (spread / scale).squareRoot())
        }
    }

    /// "per mode, explained: 1 0.95, 2 0.91, 3 −0.12, ..." (nil without modes).
    public var modeSentence: String? {
        guard let modes, !modes.isEmpty else { return nil }
        return "per mode, the share of the subjects' variance the prediction explains (prediction / mean shape RMS): "
            + modes.map { m in
                String(format: "%d: %@ (%.2f / %.2f mm)", m.mode, m.explained.map { String(format: "%.2f", $0) } ?? "–",
                       m.prediction, m.meanShape)
            }.joined(separator: ", ")
    }

    /// (mean − prediction) / (mean − oracle); nil when the oracle is no better
    /// than the mean shape (nothing to gain).
    public static func share(mean: Double, prediction: Double, oracle: Double) -> Double? {
        let room = mean - oracle
        guard room > 1e-12 else { return nil }
        return (mean - prediction) / room
    }

    private func average(_ f: (Subject) -> Double) -> Double {
        subjects.isEmpty ? 0 : subjects.map(f).reduce(0, +) / Double(subjects.count)
    }

    /// Means over subjects (mm).
    public var prediction: Double { average(\.prediction) }
    public var meanShape: Double { average(\.meanShape) }
    public var oracle: Double { average(\.oracle) }
    /// The share of the mean subject RMSEs.
    public var achievableGainShare: Double? {
        Self.share(mean: meanShape, prediction: prediction, oracle: oracle)
    }

    /// Root-mean-square distance between corresponding particles.
    public static func rmse(_ a: ParticleSet, _ b: ParticleSet) -> Double {
        precondition(a.count == b.count, "particle sets must correspond")
        guard a.count > 0 else { return 0 }
        let squared = zip(a.points, b.points).map { (($0 - $1) * ($0 - $1)).sum() }.reduce(0, +)
        return (squared / Double(a.count)).squareRoot()
    }

    /// "particle RMSE 2.05 mm (mean shape 2.73, PCA-6 oracle 1.38); achievable gain share 0.50".
    public var sentence: String {
        var text = String(format: "particle RMSE %.2f mm (mean shape %.2f mm, PCA-%d oracle %.2f mm)",
                          prediction, meanShape, numModes, oracle)
        if let share = achievableGainShare { text += String(format: "; achievable gain share %.2f", share) }
        return text
    }

    /// JSON with sorted keys (same numbers, same bytes).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    public static let fileName = "accuracy.json"

    /// Reads `accuracy.json` of a predictions artifact; nil when there is none
    /// (predictions made without the test cohort).
    public static func read(predictions directory: URL) throws -> ParticleAccuracy? {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try JSONDecoder().decode(Self.self, from: Data(contentsOf: url))
    }
}
