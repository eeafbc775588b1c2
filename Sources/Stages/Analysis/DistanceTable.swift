import Foundation
import GeometryKit

/// The analysis table: one row per test subject with the predicted surface's,
/// the mean-shape baseline's and (when the predictions carry it) the PCA-K
/// oracle's distances to the original surface, and the particle RMSEs with the
/// achievable gain share (see `ParticleAccuracy`), written as CSV, summarised
/// as JSON and as one sentence a person reads.
public struct DistanceTable: Sendable, Equatable {
    public var rows: [SubjectDistances]
    /// K of the oracle, when known.
    public var numModes: Int?

    public init(rows: [SubjectDistances], numModes: Int? = nil) {
        self.rows = rows
        self.numModes = numModes
    }

    /// Whether every row has an oracle surface / particle RMSEs.
    var hasOracle: Bool { !rows.isEmpty && rows.allSatisfy { $0.oracle != nil } }
    var hasParticles: Bool { !rows.isEmpty && rows.allSatisfy { $0.particles != nil } }
    static let particleColumns = ["particle_rmse_mm", "baseline_particle_rmse_mm", "oracle_particle_rmse_mm",
                                  "achievable_gain_share"]

    /// Column names (without the `baseline_` copy) and how each is computed, in mm.
    /// "original" is the true surface; "model" the predicted (or baseline) one.
    static let measures: [(name: String, value: @Sendable (SurfaceDistance.Summary) -> Double)] = [
        ("mean_surface_distance_mm", { $0.meanSymmetric }),
        ("rms_mm", { $0.rms }),
        ("average_hausdorff_mm", { $0.averageHausdorff }),
        ("hausdorff_original_to_model_mm", { $0.hausdorffFirstToSecond }),
        ("hausdorff_model_to_original_mm", { $0.hausdorffSecondToFirst }),
        ("mean_original_to_model_mm", { $0.meanFirstToSecond }),
        ("mean_model_to_original_mm", { $0.meanSecondToFirst }),
    ]

    /// The header row: `id`, the measures of the prediction, then `baseline_`
    /// ones, then `oracle_` ones and the particle columns when known.
    public var header: [String] {
        ["id"] + Self.measures.map(\.name) + Self.measures.map { "baseline_\($0.name)" }
            + (hasOracle ? Self.measures.map { "oracle_\($0.name)" } : [])
            + (hasParticles ? Self.particleColumns : [])
    }

    /// CSV text (comma-separated, header first, 4 decimals: 0.1 µm).
    public var csv: String {
        var lines = [header.joined(separator: ",")]
        for row in rows {
            var values = Self.measures.map { $0.value(row.predicted) } + Self.measures.map { $0.value(row.baseline) }
            if hasOracle, let oracle = row.oracle { values += Self.measures.map { $0.value(oracle) } }
            var cells = [row.id] + values.map { String(format: "%.4f", $0) }
            if hasParticles, let p = row.particles {
                cells += [p.prediction, p.meanShape, p.oracle].map { String(format: "%.4f", $0) }
                cells.append(p.achievableGainShare.map { String(format: "%.4f", $0) } ?? "")
            }
            lines.append(cells.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Means over subjects.
    public struct Overall: Sendable, Codable, Equatable {
        public var subjects: Int
        public var meanSurfaceDistance: Double
        public var baselineMeanSurfaceDistance: Double
        public var rms: Double
        public var baselineRMS: Double
        public var averageHausdorff: Double
        public var baselineAverageHausdorff: Double
        /// The worst subject's mean surface distance, and who it is.
        public var worstSubject: String
        public var worstMeanSurfaceDistance: Double
        /// The PCA-K oracle's surface distances, when known.
        public var oracleMeanSurfaceDistance: Double?
        public var oracleRMS: Double?
        public var oracleAverageHausdorff: Double?
        /// Mean particle RMSEs (world frame) and the achievable gain share on them.
        public var particleRMSE: Double?
        public var baselineParticleRMSE: Double?
        public var oracleParticleRMSE: Double?
        public var achievableGainShare: Double?

        enum CodingKeys: String, CodingKey {
            case subjects
            case meanSurfaceDistance = "mean_surface_distance_mm"
            case baselineMeanSurfaceDistance = "baseline_mean_surface_distance_mm"
            case rms = "rms_mm"
            case baselineRMS = "baseline_rms_mm"
            case averageHausdorff = "average_hausdorff_mm"
            case baselineAverageHausdorff = "baseline_average_hausdorff_mm"
            case worstSubject = "worst_subject"
            case worstMeanSurfaceDistance = "worst_mean_surface_distance_mm"
            case oracleMeanSurfaceDistance = "oracle_mean_surface_distance_mm", oracleRMS = "oracle_rms_mm"
            case oracleAverageHausdorff = "oracle_average_hausdorff_mm"
            case particleRMSE = "particle_rmse_mm", baselineParticleRMSE = "baseline_particle_rmse_mm"
            case oracleParticleRMSE = "oracle_particle_rmse_mm", achievableGainShare = "achievable_gain_share"
        }
    }

    public var overall: Overall {
        func mean(_ f: (SubjectDistances) -> Double) -> Double {
            rows.isEmpty ? 0 : rows.map(f).reduce(0, +) / Double(rows.count)
        }
        let worst = rows.max { $0.predicted.meanSymmetric < $1.predicted.meanSymmetric }
        var overall = Overall(subjects: rows.count,
                       meanSurfaceDistance: mean { $0.predicted.meanSymmetric },
                       baselineMeanSurfaceDistance: mean { $0.baseline.meanSymmetric },
                       rms: mean { $0.predicted.rms }, baselineRMS: mean { $0.baseline.rms },
                       averageHausdorff: mean { $0.predicted.averageHausdorff },
                       baselineAverageHausdorff: mean { $0.baseline.averageHausdorff },
                       worstSubject: worst?.id ?? "", worstMeanSurfaceDistance: worst?.predicted.meanSymmetric ?? 0)
        if hasOracle {
            overall.oracleMeanSurfaceDistance = mean { $0.oracle!.meanSymmetric }
            overall.oracleRMS = mean { $0.oracle!.rms }
            overall.oracleAverageHausdorff = mean { $0.oracle!.averageHausdorff }
        }
        if hasParticles {
            let accuracy = ParticleAccuracy(numModes: numModes ?? 0, subjects: rows.map { $0.particles! })
            overall.particleRMSE = accuracy.prediction
            overall.baselineParticleRMSE = accuracy.meanShape
            overall.oracleParticleRMSE = accuracy.oracle
            overall.achievableGainShare = accuracy.achievableGainShare
        }
        return overall
    }

    /// "PCA-6 oracle", or "PCA oracle" when K is unknown.
    var oracleName: String { numModes.map { "PCA-\($0) oracle" } ?? "PCA oracle" }

    /// One paragraph: "mean surface distance 1.42 mm (baseline 3.10 mm) over 10 test femurs; ...".
    public func sentence(subjectNoun: String = "test femurs") -> String {
        let o = overall
        func mm(_ v: Double) -> String { String(format: "%.2f mm", v) }
        let oracle = o.oracleMeanSurfaceDistance.map { ", \(oracleName) \(mm($0))" } ?? ""
        var text = "mean surface distance \(mm(o.meanSurfaceDistance)) (baseline \(mm(o.baselineMeanSurfaceDistance))\(oracle)) "
            + "over \(o.subjects) \(subjectNoun); average Hausdorff distance \(mm(o.averageHausdorff)) "
            + "(baseline \(mm(o.baselineAverageHausdorff))); RMS \(mm(o.rms)) (baseline \(mm(o.baselineRMS)))"
        if o.baselineMeanSurfaceDistance > 0 {
            let gain = 100 * (1 - o.meanSurfaceDistance / o.baselineMeanSurfaceDistance)
            text += gain >= 0
                ? String(format: "; the network removes %.0f %% of the mean shape's error", gain)
                : String(format: "; the prediction is %.0f %% worse than the mean shape", -gain)
        }
        if let p = o.particleRMSE, let b = o.baselineParticleRMSE, let q = o.oracleParticleRMSE {
            text += String(format: "; particle RMSE %.2f mm (mean shape %.2f mm, %@ %.2f mm)", p, b, oracleName, q)
            if let share = o.achievableGainShare { text += String(format: ", achievable gain share %.2f", share) }
        }
        if o.subjects > 1 { text += "; worst subject \(o.worstSubject) at \(mm(o.worstMeanSurfaceDistance))" }
        return text + "."
    }

    /// The contents of `summary.json`.
    struct Summary: Codable {
        var overall: Overall
        var sentence: String
        var subjects: [SubjectDistances]
        var numModes: Int?

        enum CodingKeys: String, CodingKey { case overall, sentence, subjects, numModes = "num_modes" }
    }

    /// JSON with the overall numbers, the sentence and every row (sorted keys: same table, same bytes).
    public func summaryJSON(subjectNoun: String = "test femurs") throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(Summary(overall: overall, sentence: sentence(subjectNoun: subjectNoun),
                                          subjects: rows, numModes: numModes))
    }

    /// Reads a `summary.json` back: the table and its sentence.
    public static func read(summary url: URL) throws -> (table: DistanceTable, sentence: String) {
        let summary = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: url))
        return (DistanceTable(rows: summary.subjects, numModes: summary.numModes), summary.sentence)
    }

    /// The table as a person reads it: per subject the prediction next to the
    /// baseline (and the oracle, and the particle RMSEs with the share, when
    /// known), and the mean over subjects last (values in mm, 2 decimals).
    public var readableRows: (header: [String], rows: [[String]]) {
        let oracle = hasOracle, particles = hasParticles
        var header = ["subject", "mean surface distance", "baseline"] + (oracle ? ["oracle"] : [])
            + ["average Hausdorff", "baseline"] + (oracle ? ["oracle"] : []) + ["RMS", "baseline"] + (oracle ? ["oracle"] : [])
        if particles { header += ["particle RMSE", "baseline", "oracle", "achievable gain share"] }
        func cells(_ p: [Double?]) -> [String] { p.map { $0.map { String(format: "%.2f", $0) } ?? "-" } }
        func triple(_ a: Double, _ b: Double, _ c: Double?) -> [Double?] { oracle ? [a, b, c] : [a, b] }
        var rows = self.rows.map { r in
            var values = triple(r.predicted.meanSymmetric, r.baseline.meanSymmetric, r.oracle?.meanSymmetric)
                + triple(r.predicted.averageHausdorff, r.baseline.averageHausdorff, r.oracle?.averageHausdorff)
                + triple(r.predicted.rms, r.baseline.rms, r.oracle?.rms)
            if particles, let p = r.particles { values += [p.prediction, p.meanShape, p.oracle, p.achievableGainShare] }
            return [r.id] + cells(values)
        }
        let o = overall
        var means = triple(o.meanSurfaceDistance, o.baselineMeanSurfaceDistance, o.oracleMeanSurfaceDistance)
            + triple(o.averageHausdorff, o.baselineAverageHausdorff, o.oracleAverageHausdorff)
            + triple(o.rms, o.baselineRMS, o.oracleRMS)
        if particles { means += [o.particleRMSE, o.baselineParticleRMSE, o.oracleParticleRMSE, o.achievableGainShare] }
        rows.append(["mean of \(o.subjects)"] + cells(means))
        return (header, rows)
    }

    /// Per subject, particle RMSE of the mean shape, the prediction and the
    /// oracle (mm) as a PNG; nothing when the rows carry no particle RMSEs.
    public func plotParticleRMSE(to url: URL, subject: String = "test subject") throws {
        guard hasParticles else { return }
        let x = rows.indices.map { Double($0 + 1) }
        func series(_ name: String, _ f: (ParticleAccuracy.Subject) -> Double) -> Plot.Series {
            let y = rows.map { f($0.particles!) }
            // A one-point line draws nothing: a short level segment instead.
            return x.count == 1 ? Plot.Series(name: name, x: [0.75, 1.25], y: [y[0], y[0]])
                : Plot.Series(name: name, x: x, y: y)
        }
        try Plot.lines([series("mean shape", \.meanShape), series("prediction", \.prediction),
                        series(oracleName, \.oracle)],
                       title: "Particle RMSE per \(subject) (1 = \(rows[0].id), \(rows.count) = \(rows.last!.id))",
                       xLabel: subject, yLabel: "particle RMSE, world frame (mm)", width: 700, height: 420,
                       to: url)
    }
}
