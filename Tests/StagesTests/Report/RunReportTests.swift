import Foundation
import XCTest
import GeometryKit
import Workflow
@testable import Stages

final class RunReportTests: XCTestCase {
    private func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ssmflow-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// A run of the femur pipeline as the engine records it.
    private func record() throws -> RunRecord {
        let json = """
            {"id": "20261127-080000-ab12", "workflow": "femur-deepssm", "file": "workflows/femur_deepssm.yaml",
             "startedAt": "2026-11-27T08:00:00Z", "seconds": 754.2, "profile": "cpu", "overrides": ["train.epochs=12"],
             "params": {"augment": {"num_samples": 500, "sampler": "kde"}, "train": {"epochs": 12, "learning_rate": 0.0001},
                        "analyze": {}},
             "stages": [
               {"stage": "augment", "kind": "augment", "outcome": "cached", "reasons": ["cached"], "seconds": 0.1, "metrics": {}},
               {"stage": "train", "kind": "deepssm-train", "outcome": "ran", "reasons": ["params changed: epochs 10 → 12"],
                "seconds": 600.5, "metrics": {"best_val_relative_error": 0.21}},
               {"stage": "analyze", "kind": "deepssm-analyze", "outcome": "ran", "reasons": ["input train.model changed"],
                "seconds": 20.25, "metrics": {"mean_surface_distance_mm": 1.42}},
               {"stage": "notes", "kind": "shell", "outcome": "failed", "reasons": ["new stage"], "seconds": 0.5,
                "metrics": {}, "error": "exit status 1: <script> not found"}
             ]}
            """
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(RunRecord.self, from: Data(json.utf8))
    }

    /// Artifacts as cached objects: no file extensions, PNGs inside directories.
    private func artifacts(in dir: URL) throws -> [ArtifactAddress: URL] {
        let plots = dir.appendingPathComponent("obj-plots")
        try FileManager.default.createDirectory(at: plots, withIntermediateDirectories: true)
        try Plot.histograms([Plot.Group(name: "original", rows: [[1, 2], [2, 3], [3, 1]])], labels: ["PCA 1", "PCA 2"],
                            title: "scores", width: 400, height: 300, to: plots.appendingPathComponent("scores.png"))
        let curve = dir.appendingPathComponent("obj-curve")
        try Plot.lines([Plot.Series(name: "train", x: [1, 2, 3], y: [1, 0.5, 0.3])], title: "training",
                       xLabel: "epoch", yLabel: "error", width: 400, height: 300, to: curve)
        let heatmaps = dir.appendingPathComponent("obj-heatmaps")
        try FileManager.default.createDirectory(at: heatmaps, withIntermediateDirectories: true)
        for name in ["m03_L_original.png", "m03_L_predicted.png"] {
            try FileManager.default.copyItem(at: curve, to: heatmaps.appendingPathComponent(name))
        }
        let summary = dir.appendingPathComponent("obj-summary")
        let table = DistanceTable(rows: [SubjectDistances(id: "m03_L", predicted: .init(fromFirst: [1.4], fromSecond: [1.44]),
                                                          baseline: .init(fromFirst: [3.1], fromSecond: [3.1]))])
        try table.summaryJSON().write(to: summary)
        let model = dir.appendingPathComponent("obj-model")
        try Data("not a picture".utf8).write(to: model)
        return [ArtifactAddress(stage: "augment", output: "plots"): plots,
                ArtifactAddress(stage: "train", output: "curve"): curve,
                ArtifactAddress(stage: "train", output: "model"): model,
                ArtifactAddress(stage: "analyze", output: "heatmaps"): heatmaps,
                ArtifactAddress(stage: "analyze", output: "summary"): summary]
    }

    func test_finish_writesSelfContainedReportWithEverySection() throws {
        let dir = try scratch()
        let lines = try RunReportFinisher().finish(run: try record(), artifacts: try artifacts(in: dir),
                                                   runDirectory: dir.appendingPathComponent("run"))
        let url = dir.appendingPathComponent("run/report.html")
        XCTAssertEqual(lines.first, "report: \(url.path)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("analyze: mean surface distance 1.42 mm (baseline 3.10 mm) over 1 test femurs") },
                      "\(lines)")
        let html = try String(contentsOf: url, encoding: .utf8)
        for anchor in ["stages", "parameters", "augmentation", "training", "distances", "heatmaps"] {
            XCTAssertTrue(html.contains("<section id=\"\(anchor)\">"), "missing section \(anchor)")
        }
        XCTAssertTrue(html.contains("<h1>femur-deepssm</h1>"))
        // Four PNGs (plot, curve, two heat maps), all inline; nothing fetched from elsewhere.
        XCTAssertEqual(html.components(separatedBy: "src=\"data:image/png;base64,").count - 1, 4)
        XCTAssertFalse(html.contains("http://") || html.contains("https://") || html.contains("src=\"/"))
        XCTAssertTrue(html.contains("<td>m03_L</td><td class=\"num\">1.42</td><td class=\"num\">3.10</td>"))
        XCTAssertTrue(html.contains("params changed: epochs 10 → 12"))
        XCTAssertTrue(html.contains("<td class=\"cached\">cached</td>"))
        XCTAssertTrue(html.contains("<th>num_samples</th><td>500</td>"))
        // Text from the run is escaped, never markup.
        XCTAssertTrue(html.contains("exit status 1: &lt;script&gt; not found"))
        XCTAssertTrue(html.contains("m03_L_original"))
    }

    func test_report_predictionsWithPerModeErrors_showTheModeTable() throws {
        let dir = try scratch()
        let predictions = dir.appendingPathComponent("obj-predictions")
        try FileManager.default.createDirectory(at: predictions, withIntermediateDirectories: true)
        try ParticleAccuracy(numModes: 2, subjects: [.init(id: "m03_L", prediction: 1.5, meanShape: 2.5, oracle: 1)],
                             modes: [.init(mode: 1, prediction: 0.5, meanShape: 2), .init(mode: 2, prediction: 1.2, meanShape: 0.6)])
            .encoded().write(to: predictions.appendingPathComponent(ParticleAccuracy.fileName))
        var run = try record()
        var predict = run.stages[1]
        predict.stage = "predict"
        predict.kind = DeepSSMPredict.kind
        run.stages.append(predict)
        var artifacts = try artifacts(in: dir)
        artifacts[ArtifactAddress(stage: "predict", output: "predictions")] = predictions
        let html = try RunReportFinisher.report(run: run, artifacts: artifacts).html()
        XCTAssertTrue(html.contains("<th>variance explained</th>"), html)
        // 1 − 0.25 / 4 and 1 − 1.44 / 0.36.
        XCTAssertTrue(html.contains("<td class=\"num\">1</td><td class=\"num\">0.50</td><td class=\"num\">2.00</td><td>94 %</td>"), html)
        XCTAssertTrue(html.contains("<td class=\"num\">2</td><td class=\"num\">1.20</td><td class=\"num\">0.60</td><td>-300 %</td>"), html)
        XCTAssertTrue(html.contains("predict: per PCA mode over the 1 test subjects"))
        // Without accuracy.json (no test cohort) there is no mode table.
        artifacts[ArtifactAddress(stage: "predict", output: "predictions")] = dir.appendingPathComponent("obj-plots")
        XCTAssertFalse(try RunReportFinisher.report(run: run, artifacts: artifacts).html().contains("variance explained"))
    }

    func test_report_withoutAnalysisOrTraining_saysWhyInsteadOfLeavingGaps() throws {
        var run = try record()
        run.stages = run.stages.filter { $0.kind == "shell" }
        let html = try RunReportFinisher.report(run: run, artifacts: [:]).html()
        for anchor in ["augmentation", "training", "distances", "heatmaps"] {
            XCTAssertTrue(html.contains("<section id=\"\(anchor)\">"), anchor)
        }
        XCTAssertTrue(html.contains("This workflow has no deepssm-train stage, so there is no training curve."))
    }

    func test_report_renderingOff_saysSoInsteadOfMissing() throws {
        let json = #"{"render": false}"#
        var run = try record()
        run.params["analyze"] = try JSONDecoder().decode(ParamValue.self, from: Data(json.utf8))
        let html = try RunReportFinisher.report(run: run, artifacts: [:]).html()
        XCTAssertTrue(html.contains("Heat maps were turned off for this run (analyze.render: false)"))
    }

    func test_report_failedAnalysis_namesItsOutcome() throws {
        var run = try record()
        run.stages[2].outcome = .failed
        let html = try RunReportFinisher.report(run: run, artifacts: [:]).html()
        XCTAssertTrue(html.contains("No distance table in this run (analyze: failed)."))
    }

    func test_pngs_keepsOnlyPNGFiles_inPathOrder() throws {
        let dir = try scratch()
        let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3])
        try png.write(to: dir.appendingPathComponent("b-plot.png"))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try png.write(to: dir.appendingPathComponent("sub/a.png"))
        try Data([0x89, 0x50, 0x4E]).write(to: dir.appendingPathComponent("short"))
        try Data(repeating: 7, count: 1 << 20).write(to: dir.appendingPathComponent("shard-00000.h5"))
        let found = pngs(in: dir, caption: "augment.plots")
        XCTAssertEqual(found.map(\.caption), ["augment.plots: b-plot", "augment.plots: sub/a"])
        XCTAssertEqual(found.map(\.png), [png, png])
        XCTAssertEqual(pngs(in: dir.appendingPathComponent("shard-00000.h5"), caption: "x").count, 0)
        XCTAssertEqual(pngs(in: dir.appendingPathComponent("b-plot.png"), caption: "one").first?.png, png)
    }
}
