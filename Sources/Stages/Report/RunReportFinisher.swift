import Foundation
import GeometryKit
import Workflow

/// Writes `report.html` into the run's directory after every run (see
/// `RunReport`) and returns its path and the analysis summary for the terminal.
///
/// It finds what to show by stage kind, so any workflow gets a report:
/// augmentation figures from `augment` stages, the training curve from
/// `deepssm-train`, the distance table and heat maps from `deepssm-analyze`,
/// and the PNGs of any other stage under "Other figures". A PNG is recognised
/// by its bytes, since cached objects carry no file extension.
public struct RunReportFinisher: RunFinisher {
    public init() {}

    public func finish(run: RunRecord, artifacts: [ArtifactAddress: URL], runDirectory: URL) throws -> [String] {
        let report = try Self.report(run: run, artifacts: artifacts)
        try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
        let url = runDirectory.appendingPathComponent("report.html")
        let temporary = runDirectory.appendingPathComponent(".report-\(UUID().uuidString).html")
        try Data(report.html().utf8).write(to: temporary)
        // rename(2) replaces an older report atomically; a reader never sees half a page.
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw StageFailure("cannot write the run report \(url.path): \(reason); check that the cache directory is writable")
        }
        var lines = ["report: \(url.path)"]
        for stage in run.stages where stage.kind == DeepSSMAnalyze.kind {
            if let summary = artifacts[ArtifactAddress(stage: stage.stage, output: "summary")],
               let (_, sentence) = try? DistanceTable.read(summary: summary) {
                lines.append("\(stage.stage): \(sentence)")
            }
        }
        return lines
    }

    /// The report model of a run.
    static func report(run: RunRecord, artifacts: [ArtifactAddress: URL]) throws -> RunReport {
        let formatter = ISO8601DateFormatter()
        var facts: [(String, String)] = [
            ("run", run.id), ("workflow file", run.file), ("started", formatter.string(from: run.startedAt)),
            ("duration", RunReport.duration(run.seconds)),
            ("outcome", run.succeeded ? "succeeded (\(run.ranCount) ran, \(run.cachedCount) cached)"
                : "failed (\(run.failedCount) stage(s) failed)"),
        ]
        if let profile = run.profile { facts.append(("profile", profile)) }
        if !run.overrides.isEmpty { facts.append(("overrides", run.overrides.joined(separator: " "))) }
        // The machine's facts from the preflight checks: device, GPU, libtorch.
        for (name, value) in (run.environment ?? [:]).sorted(by: { $0.key < $1.key }) { facts.append((name, value)) }

        // Strings without JSON quotes: the page is for reading, not parsing.
        let parameters = run.params.mapValues { value in
            value.flattened().filter { !$0.key.isEmpty }.mapValues { leaf -> String in
                if case .string(let text) = leaf { return text }
                return leaf.description
            }
        }
        let stages = run.stages.map {
            RunReport.StageRow(stage: $0.stage, kind: $0.kind, outcome: $0.outcome.rawValue, reasons: $0.reasons,
                               seconds: $0.seconds, metrics: $0.metrics, error: $0.error)
        }
        func outputs(of stage: StageRunSummary) -> [(String, URL)] {
            artifacts.filter { $0.key.stage == stage.stage }.sorted { $0.key.output < $1.key.output }
                .map { ($0.key.output, $0.value) }
        }
        func figures(_ stages: [StageRunSummary]) -> [(caption: String, png: Data)] {
            stages.flatMap { stage in outputs(of: stage).flatMap { pngs(in: $1, caption: "\(stage.stage).\($0)") } }
        }
        func missing(_ what: String, kind: String, _ matching: [StageRunSummary]) -> RunReport.Block {
            if matching.isEmpty { return .paragraph("This workflow has no \(kind) stage, so there is no \(what).") }
            let states = matching.map { "\($0.stage): \($0.outcome.rawValue)" }.joined(separator: ", ")
            return .paragraph("No \(what) in this run (\(states)).")
        }

        let augment = run.stages.filter { $0.kind.contains("augment") }
        let train = run.stages.filter { $0.kind == "deepssm-train" }
        let analyze = run.stages.filter { $0.kind == DeepSSMAnalyze.kind }

        let augmentFigures = figures(augment)
        let trainFigures = figures(train)
        var distanceBlocks: [RunReport.Block] = []
        var heatMaps: [(caption: String, png: Data)] = []
        for stage in analyze {
            if let summary = artifacts[ArtifactAddress(stage: stage.stage, output: "summary")] {
                let (table, sentence) = try DistanceTable.read(summary: summary)
                let readable = table.readableRows
                distanceBlocks.append(.paragraph(sentence.prefix(1).uppercased() + sentence.dropFirst()))
                distanceBlocks.append(.table(header: readable.header, rows: readable.rows,
                                             caption: "\(stage.stage): distances to the original surface in mm; "
                                                 + "baseline: the mean shape in the subject's frame"
                                                 + (table.hasOracle ? "; oracle: the true shape projected onto the "
                                                     + "K retained PCA modes (the best any score regression can do); "
                                                     + "achievable gain share = (baseline − prediction) / (baseline − "
                                                     + "oracle) on particle RMSE (world frame)" : "")))
            }
            if let plot = artifacts[ArtifactAddress(stage: stage.stage, output: "accuracy")] {
                let figures = pngs(in: plot, caption: "\(stage.stage): particle RMSE per subject")
                if !figures.isEmpty { distanceBlocks.append(.gallery(columns: 2, figures: figures)) }
            }
            if let maps = artifacts[ArtifactAddress(stage: stage.stage, output: "heatmaps")] {
                heatMaps += pngs(in: maps, caption: "")
            }
        }
        // Per PCA mode, from the predictions' accuracy.json: which modes the network predicts.
        for stage in run.stages where stage.kind == DeepSSMPredict.kind {
            guard let predictions = artifacts[ArtifactAddress(stage: stage.stage, output: "predictions")],
                  let accuracy = try? ParticleAccuracy.read(predictions: predictions),
                  let modes = accuracy.modes, !modes.isEmpty else { continue }
            let subjects = (try? PredictedParticles(directory: predictions).subjects) ?? "test"
            distanceBlocks.append(.table(
                header: ["mode", "prediction RMS (mm)", "mean shape RMS (mm)", "variance explained"],
                rows: modes.map { m in
                    ["\(m.mode)", String(format: "%.2f", m.prediction), String(format: "%.2f", m.meanShape),
                     m.explained.map { String(format: "%.0f %%", $0 * 100) } ?? "–"]
                },
                caption: "\(stage.stage): per PCA mode over the \(accuracy.subjects.count) \(subjects) subjects, the "
                    + "score error as particle RMS in the world frame, the mean shape's (how much the subjects vary "
                    + "along the mode) and the share of that variance the prediction explains; a subject's squared "
                    + "particle error is the oracle's plus these modes' squares"))
        }
        let renderingOff = analyze.map(\.stage).filter { run.params[$0]?.members["render"] == .bool(false) }
        let shown = Set((augment + train + analyze).map(\.stage))
        let otherFigures = figures(run.stages.filter { !shown.contains($0.stage) })

        var sections = [
            RunReport.Section(anchor: "augmentation", title: "Augmentation",
                              blocks: augmentFigures.isEmpty ? [missing("augmentation plot", kind: "augmentation", augment)]
                                  : [.gallery(columns: 1, figures: augmentFigures)]),
            RunReport.Section(anchor: "training", title: "Training curve",
                              blocks: trainFigures.isEmpty ? [missing("training curve", kind: "deepssm-train", train)]
                                  : [.gallery(columns: 1, figures: trainFigures)]),
            RunReport.Section(anchor: "distances", title: "Surface distances",
                              blocks: distanceBlocks.isEmpty ? [missing("distance table", kind: DeepSSMAnalyze.kind, analyze)]
                                  : distanceBlocks),
            RunReport.Section(anchor: "heatmaps", title: "Heat maps",
                              blocks: heatMaps.isEmpty ? [renderingOff.first.map {
                                  .paragraph("Heat maps were turned off for this run (\($0).render: false); the "
                                      + "meshes with their Distance arrays are in the stage's 'meshes' output.")
                              } ?? missing("heat map", kind: DeepSSMAnalyze.kind, analyze)]
                                  : [.paragraph("Each surface is coloured by its distance to the other one, in mm, "
                                      + "on one colour scale for all subjects."),
                                     .gallery(columns: 2, figures: heatMaps)]),
        ]
        if !otherFigures.isEmpty {
            sections.append(RunReport.Section(anchor: "other", title: "Other figures",
                                              blocks: [.gallery(columns: 2, figures: otherFigures)]))
        }
        return RunReport(workflow: run.workflow, facts: facts, parameters: parameters, stages: stages,
                         sections: sections)
    }
}

/// Every PNG at `url` (a file, or the regular files under a directory in path
/// order), captioned `caption` for a single file, else by file name.
func pngs(in url: URL, caption: String) -> [(caption: String, png: Data)] {
    // Only the 8-byte signature is read first: artifacts next to the figures
    // can be tens of GB (an augmentation pool, the loaders' image stacks).
    func png(_ file: URL) -> Data? {
        guard let handle = try? FileHandle(forReadingFrom: file) else { return nil }
        defer { try? handle.close() }
        guard let signature = try? handle.read(upToCount: 8),
              signature.elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
              let rest = try? handle.readToEnd() else { return nil }
        return signature + rest
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return [] }
    if !isDirectory.boolValue { return png(url).map { [(caption, $0)] } ?? [] }
    let files = (FileManager.default.enumerator(atPath: url.path)?.allObjects as? [String] ?? []).sorted()
    return files.compactMap { file in
        let path = url.appendingPathComponent(file)
        var nested: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &nested), !nested.boolValue,
              let data = png(path) else { return nil }
        let name = (file as NSString).deletingPathExtension
        return (caption.isEmpty ? name : "\(caption): \(name)", data)
    }
}
