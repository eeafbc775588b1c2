import Foundation
import GeometryKit
import Workflow

/// `deepssm-infer`: a trained model on new NRRD images in their own frames, as
/// `ssmflow predict` does, inside a workflow (the images' contents are part of
/// the stage key, so changing an image reruns it).
public struct DeepSSMInfer: Stage, ReadsExternalFiles {
    public static let kind = "deepssm-infer"
    public static let version = 1
    public static let summary = "register new images to the training reference and predict their particles and surfaces in their own frames"
    public static let inputs = [
        Port("model", "deepssm-train output: best_model.h5, final_model.h5, normalization.json"),
        Port("pca", "augment's PCA model (pca.h5): un-whitens the predicted scores"),
        Port("train", "the training cohort (split.train): the reference image, the mean mesh and the world → image frame"),
    ]
    public static let outputs = [
        Port("predictions", "per image NAME/: particles_image.particles, particles_model.particles, surface.vtk, surface.ply, transform.json; summary.csv"),
    ]

    public struct Params: StageParameters {
        /// NRRD files, or directories whose *.nrrd / *.nhdr files are all used;
        /// relative to the workflow file.
        public var images: [String] = []
        /// `best` or `final`.
        public var model = "best"
        public var allow_scale = false
        /// Also try the mirrored image (the other side) and keep the better match.
        public var mirror = true
        /// cpu, cuda or auto.
        public var device = "auto"
        /// 0 takes the engine's share for this stage.
        public var threads = 0

        public init() {}

        public func validate() -> [ParameterIssue] {
            var issues: [ParameterIssue] = []
            if images.isEmpty { issues.append(.init("images", "lists no image; give NRRD files or directories of them")) }
            if !["best", "final"].contains(model) { issues.append(.init("model", "'\(model)' is not a model of deepssm-train; use best or final")) }
            if !["cpu", "cuda", "auto"].contains(device) { issues.append(.init("device", "'\(device)' is not a device; use cpu, cuda or auto")) }
            if threads < 0 { issues.append(.init("threads", "must be 0 (automatic) or more, got \(threads)")) }
            return issues
        }
    }

    public static func externalFiles(_ params: Params) -> [String] { params.images }

    public init() {}

    /// The image files `params.images` names, directories expanded (sorted by name).
    static func imageFiles(_ entries: [String], relativeTo base: URL) throws -> [URL] {
        var files: [URL] = []
        for entry in entries {
            let url = entry.hasPrefix("/") ? URL(fileURLWithPath: entry) : base.appendingPathComponent(entry)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                throw StageFailure("no image or directory at \(url.path) (images: '\(entry)'); fix the path in the stage's 'images'")
            }
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: url.path)
                    .filter { $0.hasSuffix(".nrrd") || $0.hasSuffix(".nhdr") }.sorted()
                guard !names.isEmpty else { throw StageFailure("\(url.path) holds no .nrrd or .nhdr image; fix the stage's 'images'") }
                files += names.map { url.appendingPathComponent($0) }
            } else {
                files.append(url)
            }
        }
        return files
    }

    public func run(_ params: Params, context: StageContext) async throws {
        let files = try Self.imageFiles(params.images, relativeTo: context.workflowDirectory)
        try PredictionWriter.checkUniqueNames(files)
        let model = try InferenceModel(modelDirectory: try context.input("model"), which: params.model,
                                       pca: try context.input("pca"), trainingCohort: try context.input("train"),
                                       source: "input 'model'")
        let threads = params.threads > 0 ? params.threads : max(context.threads, 1)
        let predictor = try NewImagePredictor(model: model, aligner: ImageAligner(allowScale: params.allow_scale, tryMirror: params.mirror,
                                                                                  threads: threads),
                                              device: params.device, threads: threads)
        let output = context.outputURL("predictions")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        var predictions: [NewImagePredictor.Prediction] = []
        for (i, file) in files.enumerated() {
            try context.checkCancellation()
            let p = try predictor.predict(file)
            try PredictionWriter.write(p, model: model, into: output)
            predictions.append(p)
            if let warning = PredictionWriter.warning(p.alignment) { context.log("warning: \(file.lastPathComponent): \(warning)") }
            context.progress(i + 1, of: files.count, String(format: "%@: correlation %.3f%@", file.lastPathComponent,
                                                            p.alignment.correlation, p.alignment.mirrored ? ", mirrored" : ""))
        }
        try PredictionWriter.writeSummary(predictions, into: output)
        let correlations = predictions.map(\.alignment.correlation)
        context.metric("min_registration_correlation", correlations.min() ?? 0)
        context.log("predicted \(files.count) images")
    }
}
