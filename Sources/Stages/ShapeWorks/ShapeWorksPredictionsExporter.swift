import Foundation
import Workflow

/// `ssmflow cache export deepssm-predict.predictions DIR`: the held-out
/// subjects in ShapeWorks' femur layout (`ShapeWorksFemurLayout`: images,
/// distance transforms, segmentations, meshes, true particles) with the
/// predicted particles beside them (`predictions/<id>_{local,world}.particles`),
/// and two ShapeWorks projects that open in Studio: `predictions.swproj` (each
/// subject's image and mesh with the predicted particles) and `truth.swproj`
/// (the same with the true particles). `--raw` copies our own files instead.
public struct ShapeWorksPredictionsExporter: ArtifactExporter {
    public static let domain = "femur"

    public init() {}

    public func handles(_ request: ArtifactExportRequest) -> Bool {
        request.kind == DeepSSMPredict.kind && request.output == "predictions"
    }

    public func export(_ request: ArtifactExportRequest, to directory: URL) throws {
        guard let test = request.inputs["test"] else {
            throw StageFailure("stage '\(request.stage)' read no 'test' cohort, whose images and meshes the ShapeWorks project lists; connect split.test to it and run again, or export with --raw")
        }
        guard FileManager.default.fileExists(atPath: test.path) else {
            throw StageFailure("the test cohort of stage '\(request.stage)' (object \(test.lastPathComponent.prefix(12))) is no longer in the cache; run the workflow again, then export")
        }
        try Self.write(predictions: request.url, cohort: Cohort(directory: test), to: directory)
    }

    /// Writes the layout, the predicted particles and both projects into `directory`.
    public static func write(predictions: URL, cohort: Cohort, to directory: URL) throws {
        try ShapeWorksFemurLayout.export(cohort, to: directory)
        let fm = FileManager.default
        let predicted = directory.appendingPathComponent("predictions")
        try fm.createDirectory(at: predicted, withIntermediateDirectories: true)
        let particles = "\(ShapeWorksFemurLayout.models)/\(cohort.numParticles)"
        var withPredictions: [ShapeWorksProject.Subject] = [], withTruth: [ShapeWorksProject.Subject] = []
        for id in cohort.ids {
            for frame in ["local", "world"] {
                let source = predictions.appendingPathComponent("\(frame)/predicted_\(id).particles")
                guard fm.fileExists(atPath: source.path) else {
                    throw StageFailure("\(source.path) is missing: the predictions do not cover test subject '\(id)'; rerun deepssm-predict")
                }
                try fm.copyItem(at: source, to: predicted.appendingPathComponent("\(id)_\(frame).particles"))
            }
            let common = [
                "shape_\(domain)": "\(ShapeWorksFemurLayout.meshes)/\(id).vtk",
                "groomed_\(domain)": "\(ShapeWorksFemurLayout.distanceTransforms)/\(id).nrrd",
                "image_\(domain)": "\(ShapeWorksFemurLayout.images)/\(id).nrrd",
            ]
            var mine = common, truth = common
            mine["local_particles_\(domain)"] = "predictions/\(id)_local.particles"
            mine["world_particles_\(domain)"] = "predictions/\(id)_world.particles"
            truth["local_particles_\(domain)"] = "\(particles)/\(id)_local.particles"
            truth["world_particles_\(domain)"] = "\(particles)/\(id)_world.particles"
            withPredictions.append(.init(name: id, columns: mine))
            withTruth.append(.init(name: id, columns: truth))
        }
        try ShapeWorksProject(subjects: withPredictions).write(to: directory.appendingPathComponent("predictions.swproj"))
        try ShapeWorksProject(subjects: withTruth).write(to: directory.appendingPathComponent("truth.swproj"))
    }
}
