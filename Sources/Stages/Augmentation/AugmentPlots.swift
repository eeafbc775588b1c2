import Foundation
import GeometryKit
import Workflow

/// The `plots` output of stage `augment`: whether generated shapes cover the
/// distribution of the real ones, at a glance.
///
/// - `scores_scatter_matrix.png`: every pair of the K PCA modes, originals vs
///   generated (the use-case page's figure);
/// - `scores_histograms.png`: one density histogram per mode, both groups overlaid;
/// - `scores.csv`: the plotted data (`group,id,z1,...,zK`).
public enum AugmentPlots {
    public static func write(_ pool: TrainingPool, to directory: URL, draw: Bool) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var original: [[Double]] = [], generated: [[Double]] = []
        var csv = "group,id," + (1...pool.numModes).map { "z\($0)" }.joined(separator: ",") + "\n"
        for i in 0..<pool.count {
            let z = try pool.scores(i)
            let isOriginal = pool.isOriginal(i)
            if isOriginal { original.append(z) } else { generated.append(z) }
            csv += "\(isOriginal ? "original" : "generated"),\(try pool.id(i)),\(z.map { "\($0)" }.joined(separator: ","))\n"
        }
        try csv.write(to: directory.appendingPathComponent("scores.csv"), atomically: true, encoding: .utf8)
        guard draw else { return }
        let labels = (1...pool.numModes).map { "mode \($0)" }
        // Generated first so the few originals are drawn on top.
        let groups = [Plot.Group(name: "generated (\(generated.count))", rows: generated),
                      Plot.Group(name: "original (\(original.count))", rows: original)].filter { !$0.rows.isEmpty }
        do {
            try Plot.scatterMatrix(groups, labels: labels, title: "PCA scores: original vs generated",
                                   to: directory.appendingPathComponent("scores_scatter_matrix.png"))
            try Plot.histograms(groups, labels: labels, title: "PCA score distribution per mode",
                                to: directory.appendingPathComponent("scores_histograms.png"))
        } catch {
            throw StageFailure("augment: cannot draw the score plots: \(error); install the packages it names, or set plots: false")
        }
    }
}
