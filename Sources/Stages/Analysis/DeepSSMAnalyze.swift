import Foundation
import ShapeModel
import GeometryKit
import Workflow

/// `deepssm-analyze`: step 6 of the use case. For every test subject, the
/// original surface (its distance transform at 0, local frame) against the
/// predicted surface (the mean dense mesh warped onto the predicted local
/// particles) and against a baseline (the mean shape placed in the subject's
/// frame by the same similarity, i.e. predicted scores of zero): distances
/// both ways, per vertex and summarised, heat maps, and one sentence.
public struct DeepSSMAnalyze: Stage {
    public static let kind = "deepssm-analyze"
    public static let version = 2
    public static let summary = "surface distances of predicted vs true test shapes, with a mean-shape baseline, heat maps and a table"
    public static let inputs = [
        Port("test", "test cohort: distance transforms (local frame), mean dense mesh and mean particles (world)"),
        Port("predictions", "deepssm-predict output: predicted local and world particles per test subject"),
        Port("validation", "validation cohort (split.validation), analysed instead of `test` when the predictions are of the validation subjects (`deepssm-predict.subjects: validation`)", optional: true),
    ]
    public static let outputs = [
        Port("table", "distances.csv: per subject, prediction, baseline and PCA-K oracle: mean surface distance, RMS, Hausdorff; particle RMSEs and achievable_gain_share"),
        Port("summary", "summary.json: means over subjects, the worst subject, one sentence"),
        Port("meshes", "<id>_original.vtk, <id>_predicted.vtk, <id>_baseline.vtk, <id>_oracle.vtk with the per-vertex array Distance"),
        Port("heatmaps", "<id>_original.png, <id>_predicted.png: surfaces coloured by distance in mm, two views"),
        Port("accuracy", "accuracy.png: particle RMSE per test subject of the mean shape, the prediction and the PCA-K oracle (empty when the predictions carry no oracle)"),
    ]

    public struct Params: StageParameters {
        /// `thin-plate` (U(r) = r plus affine) or `wendland` (compactly supported, ShapeWorks 6.0).
        public var warp = "thin-plate"
        /// Wendland support radius in mm; 0 picks 6 × the mean particle spacing.
        public var wendland_support = 0.0
        /// Use every n-th particle as a warp landmark (1: all).
        public var landmark_stride = 1
        /// The distance transform's level that is the surface.
        public var isovalue = 0.0
        public var render = true
        public var image_width = 1000
        public var image_height = 700
        /// Top of the heat-map colour scale in mm; 0: the 99th percentile of all distances.
        public var color_max_mm = 0.0

        public init() {}

        static let warps = ["thin-plate", "wendland"]

        public func validate() -> [ParameterIssue] {
            var issues: [ParameterIssue] = []
            if !Self.warps.contains(warp) {
                issues.append(.init("warp", "'\(warp)' is not a warp; use \(Self.warps.joined(separator: " or "))"))
            }
            if wendland_support < 0 { issues.append(.init("wendland_support", "must be 0 (automatic) or positive, got \(wendland_support)")) }
            if landmark_stride < 1 { issues.append(.init("landmark_stride", "must be at least 1, got \(landmark_stride)")) }
            if image_width < 200 || image_height < 150 {
                issues.append(.init("image_width", "heat maps need at least 200 × 150 pixels, got \(image_width) × \(image_height)"))
            }
            if color_max_mm < 0 { issues.append(.init("color_max_mm", "must be 0 (automatic) or positive, got \(color_max_mm)")) }
            return issues
        }

        var kernel: MeshWarp.Kernel {
            warp == "wendland" ? .wendland(support: wendland_support > 0 ? wendland_support : nil) : .thinPlate
        }
    }

    public init() {}

    public func run(_ params: Params, context: StageContext) async throws {
        let predictionsURL = try context.input("predictions")
        let predictions = try PredictedParticles(directory: predictionsURL)
        let port = predictions.subjects == "validation" ? "validation" : "test"
        guard context.hasInput(port) else {
            throw StageFailure("the predictions are of the \(predictions.subjects) subjects but no '\(port)' cohort is connected; connect '\(port): split.\(port)' to this stage")
        }
        let cohortURL = try context.input(port)
        let cohort = try Cohort(directory: cohortURL)
        let accuracy: ParticleAccuracy?
        do { accuracy = try ParticleAccuracy.read(predictions: predictionsURL) } catch {
            throw StageFailure("cannot read \(ParticleAccuracy.fileName) of \(predictionsURL.path): \(error); rerun the deepssm-predict stage")
        }
        let order = try cohort.ids.map { id -> Int in
            guard let index = predictions.index(of: id) else {
                throw StageFailure("test subject '\(id)' of \(cohortURL.path) has no prediction in "
                    + "\(predictions.url.path) (it predicts \(predictions.ids.prefix(5).joined(separator: ", "))"
                    + "\(predictions.ids.count > 5 ? ", ..." : "")); connect 'predictions' to the deepssm-predict "
                    + "stage that ran on this test set")
            }
            return index
        }
        let meanParticles = try cohort.meanParticles()
        guard meanParticles.count == predictions.numParticles else {
            throw StageFailure("the mean shape of \(cohortURL.path) has \(meanParticles.count) particles but the "
                + "predictions have \(predictions.numParticles); both must come from the same shape model")
        }
        let surfaces = SurfaceAnalysis(meanMesh: try cohort.meanMesh(), meanParticles: meanParticles,
                                       kernel: params.kernel, landmarkStride: params.landmark_stride,
                                       threads: context.threads)
        var analysis = TestSetAnalysis(surfaces: surfaces, isovalue: params.isovalue,
                                       colourMax: params.color_max_mm > 0 ? params.color_max_mm : nil,
                                       render: params.render, imageWidth: params.image_width,
                                       imageHeight: params.image_height)
        analysis.subjects = predictions.subjects
        let meshes = context.outputURL("meshes"), heatmaps = context.outputURL("heatmaps")
        let plot = context.outputURL("accuracy")
        let outputs = TestSetAnalysis.Outputs(table: context.outputURL("table"), summary: context.outputURL("summary"),
                                              meshes: meshes, heatmaps: heatmaps, accuracyPlot: plot)
        let table = try analysis.run(count: cohort.ids.count, numModes: accuracy?.numModes, load: { i in
            try context.checkCancellation()
            let world = try predictions.world(order[i])
            // Predictions without local particles are placed in the subject's
            // frame here, by the similarity between its true world and local particles.
            let local = try predictions.local(order[i]) ?? SimilarityTransform.umeyama(
                from: try cohort.worldParticles(i).points, to: try cohort.localParticles(i).points).apply(world)
            return TestSetAnalysis.Subject(id: cohort.ids[i], distanceTransform: try cohort.distanceTransform(i),
                                           predictedLocal: local, predictedWorld: world,
                                           oracleLocal: try predictions.oracleLocal(order[i]),
                                           particles: accuracy?.subjects.first { $0.id == cohort.ids[i] })
        }, outputs: outputs, progress: { context.progress($0, of: $1, $2) })
        // The port always exists: an empty file says there was no oracle to plot.
        if !FileManager.default.fileExists(atPath: plot.path) { try Data().write(to: plot) }

        let overall = table.overall
        context.metric("mean_surface_distance_mm", overall.meanSurfaceDistance)
        context.metric("baseline_mean_surface_distance_mm", overall.baselineMeanSurfaceDistance)
        context.metric("average_hausdorff_mm", overall.averageHausdorff)
        context.metric("baseline_average_hausdorff_mm", overall.baselineAverageHausdorff)
        context.metric("rms_mm", overall.rms)
        if let v = overall.oracleMeanSurfaceDistance { context.metric("oracle_mean_surface_distance_mm", v) }
        if let v = overall.particleRMSE { context.metric("particle_rmse_mm", v) }
        if let v = overall.baselineParticleRMSE { context.metric("baseline_particle_rmse_mm", v) }
        if let v = overall.oracleParticleRMSE { context.metric("oracle_particle_rmse_mm", v) }
        if let v = overall.achievableGainShare { context.metric("achievable_gain_share", v) }
        context.log(table.sentence(subjectNoun: "\(predictions.subjects) femurs"))
    }
}
