import Foundation
import GeometryKit

/// The analysis table: one row per test subject with the predicted surface's
/// and the mean-shape baseline's distances to the original surface, written as
/// CSV, summarised as JSON and as one sentence a person reads.
public struct DistanceTable: Sendable, Equatable {
    public var rows: [SubjectDistances]

    public init(rows: [SubjectDistances]) { self.rows = rows }

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

    /// The header row: `id`, the measures of the prediction, then `baseline_` ones.
    public static var header: [String] {
        ["id"] + measures.map(\.name) + measures.map { "baseline_\($0.name)" }
    }

    /// CSV text (comma-separated, header first, 4 decimals: 0.1 µm).
    public var csv: String {
        var lines = [Self.header.joined(separator: ",")]
        for row in rows {
            let values = Self.measures.map { $0.value(row.predicted) } + Self.measures.map { $0.value(row.baseline) }
            lines.append(([row.id] + values.map { String(format: "%.4f", $0) }).joined(separator: ","))
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
        }
    }

    public var overall: Overall {
        func mean(_ f: (SubjectDistances) -> Double) -> Double {
            rows.isEmpty ? 0 : rows.map(f).reduce(0, +) / Double(rows.count)
        }
        let worst = rows.max { $0.predicted.meanSymmetric < $1.predicted.meanSymmetric }
        return Overall(subjects: rows.count,
                       meanSurfaceDistance: mean { $0.predicted.meanSymmetric },
                       baselineMeanSurfaceDistance: mean { $0.baseline.meanSymmetric },
                       rms: mean { $0.predicted.rms }, baselineRMS: mean { $0.baseline.rms },
                       averageHausdorff: mean { $0.predicted.averageHausdorff },
                       baselineAverageHausdorff: mean { $0.baseline.averageHausdorff },
                       worstSubject: worst?.id ?? "", worstMeanSurfaceDistance: worst?.predicted.meanSymmetric ?? 0)
    }

    /// One paragraph: "mean surface distance 1.42 mm (baseline 3.10 mm) over 10 test femurs; ...".
    public func sentence(subjectNoun: String = "test femurs") -> String {
        let o = overall
        func mm(_ v: Double) -> String { String(format: "%.2f mm", v) }
        var text = "mean surface distance \(mm(o.meanSurfaceDistance)) (baseline \(mm(o.baselineMeanSurfaceDistance))) "
            + "over \(o.subjects) \(subjectNoun); average Hausdorff distance \(mm(o.averageHausdorff)) "
            + "(baseline \(mm(o.baselineAverageHausdorff))); RMS \(mm(o.rms)) (baseline \(mm(o.baselineRMS)))"
        if o.baselineMeanSurfaceDistance > 0 {
            let gain = 100 * (1 - o.meanSurfaceDistance / o.baselineMeanSurfaceDistance)
            text += gain >= 0
                ? String(format: "; the network removes %.0f %% of the mean shape's error", gain)
                : String(format: "; the prediction is %.0f %% worse than the mean shape", -gain)
        }
        if o.subjects > 1 { text += "; worst subject \(o.worstSubject) at \(mm(o.worstMeanSurfaceDistance))" }
        return text + "."
    }

    /// The contents of `summary.json`.
    struct Summary: Codable {
        var overall: Overall
        var sentence: String
        var subjects: [SubjectDistances]
    }

    /// JSON with the overall numbers, the sentence and every row (sorted keys: same table, same bytes).
    public func summaryJSON(subjectNoun: String = "test femurs") throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(Summary(overall: overall, sentence: sentence(subjectNoun: subjectNoun),
                                          subjects: rows))
    }

    /// Reads a `summary.json` back: the table and its sentence.
    public static func read(summary url: URL) throws -> (table: DistanceTable, sentence: String) {
        let summary = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: url))
        return (DistanceTable(rows: summary.subjects), summary.sentence)
    }

    /// The table as a person reads it: per subject the prediction next to the
    /// baseline, and the mean over subjects last (values in mm, 2 decimals).
    public var readableRows: (header: [String], rows: [[String]]) {
        let header = ["subject", "mean surface distance", "baseline", "average Hausdorff", "baseline", "RMS", "baseline"]
        func cells(_ p: [Double]) -> [String] { p.map { String(format: "%.2f", $0) } }
        var rows = self.rows.map { r in
            [r.id] + cells([r.predicted.meanSymmetric, r.baseline.meanSymmetric, r.predicted.averageHausdorff,
                            r.baseline.averageHausdorff, r.predicted.rms, r.baseline.rms])
        }
        let o = overall
        rows.append(["mean of \(o.subjects)"] + cells([o.meanSurfaceDistance, o.baselineMeanSurfaceDistance,
                                                       o.averageHausdorff, o.baselineAverageHausdorff, o.rms, o.baselineRMS]))
        return (header, rows)
    }
}
