import Foundation
import ShapeModel
import GeometryKit
import Workflow

/// Stage `deepssm-loaders`: turns the training pool and the held-out subjects
/// into network-ready splits (DeepSSM step 3).
///
/// Every image is downsampled by `down_factor` (trilinear, or with
/// `downsample: area` the mean over each new voxel's footprint; spacing scaled,
/// origin kept); one global intensity mean and std over the train+val pool and
/// per-mode PCA score mean and population std are computed in a streaming pass
/// in double precision; a seeded `train_fraction` split makes `train.h5` and
/// `val.h5`; the held-out images become `test.h5`, normalised with the same
/// statistics. Read the splits with `BatchReader`.
public struct DeepSSMLoaders: Stage {
    public static let kind = "deepssm-loaders"
    public static let version = 1
    public static let summary = "downsample, normalise and split the training pool into DeepSSM loaders"
    public static let inputs = [
        Port("pool", "training pool from 'augment' (index.json + sample stacks)"),
        Port("test", "held-out subjects (cohort directory with subjects.h5)"),
        Port("pca", "PCA model from 'augment'; gives the held-out subjects' true scores", optional: true),
        Port("validation", "real subjects that validate (split.validation); when it holds any, the whole pool trains", optional: true),
    ]
    public static let outputs = [
        Port("loaders", "train.h5, val.h5, test.h5 and normalization.json"),
    ]

    public struct Params: StageParameters {
        /// Per-axis image scale, e.g. 0.75: dims become Int(d × 0.75).
        public var down_factor = 0.75
        /// Exact `[nx, ny, nz]` after downsampling (spacing per axis follows, the
        /// physical extent is kept); empty means `down_factor` decides.
        public var dims: [Int] = []
        /// Share of the pool used for training; the rest validates.
        public var train_fraction = 0.8
        /// Training batch size the loaders are made for (recorded in normalization.json).
        public var batch_size = 8
        /// Seed of the train/validation split.
        public var seed = 0
        /// How an image is shrunk to the network's grid: `linear` (trilinear at
        /// each new voxel's centre, ShapeWorks' and the default) or `area` (the
        /// mean of the old voxels under each new voxel). Optional: out of the
        /// stage key while unset.
        public var downsample: String? = nil
        public static let optionalParameters = ["downsample"]

        /// The filter `downsample` names (linear when unset).
        public var filter: ResampleFilter { downsample.flatMap(ResampleFilter.init(rawValue:)) ?? .linear }

        public init() {}

        public func validate() -> [ParameterIssue] {
            var issues: [ParameterIssue] = []
            if !(down_factor > 0 && down_factor <= 1) {
                issues.append(ParameterIssue("down_factor", "must be in (0, 1] (0.75 shrinks each axis to three quarters); got \(down_factor)"))
            }
            if !dims.isEmpty && (dims.count != 3 || dims.contains { $0 < 1 }) {
                issues.append(ParameterIssue("dims", "must be empty or three positive voxel counts [nx, ny, nz], e.g. [64, 64, 64]; got \(dims)"))
            }
            if !(train_fraction > 0 && train_fraction < 1) {
                issues.append(ParameterIssue("train_fraction", "must be strictly between 0 and 1 (0.8 trains on 80 %); got \(train_fraction)"))
            }
            if batch_size < 1 { issues.append(ParameterIssue("batch_size", "must be at least 1; got \(batch_size)")) }
            if seed < 0 { issues.append(ParameterIssue("seed", "must be zero or positive; got \(seed)")) }
            if let downsample, ResampleFilter(rawValue: downsample) == nil {
                issues.append(ParameterIssue("downsample", "'\(downsample)' is not a downsampling filter; use linear (ShapeWorks') or area (the mean over each new voxel)"))
            }
            return issues
        }
    }

    public init() {}

    public func run(_ params: Params, context: StageContext) async throws {
        let pool = try TrainingPool(directory: try context.input("pool"))
        let pca = context.hasInput("pca") ? try PCAModel.input(of: context) : nil
        let test = try HeldOutSubjects(cohort: try Cohort(directory: try context.input("test")), pca: pca)
        let validation = context.hasInput("validation")
            ? try HeldOutSubjects(cohort: try Cohort(directory: try context.input("validation")), pca: pca) : nil
        if let validation, validation.count > 0 {
            guard pca != nil else {
                throw StageFailure("the \(validation.count) validation subjects need their true PCA scores; connect 'pca: augment.pca' to deepssm-loaders")
            }
            context.log("validation on \(validation.count) real subjects; the whole pool trains (train_fraction is not used)")
        }

        let output = context.outputURL("loaders")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        var builder = DeepSSMLoaderBuilder()
        builder.downFactor = params.down_factor
        builder.targetDims = params.dims.count == 3 ? SIMD3(params.dims[0], params.dims[1], params.dims[2]) : nil
        builder.trainFraction = params.train_fraction
        builder.seed = UInt64(params.seed)
        builder.batchSize = params.batch_size
        builder.filter = params.filter
        builder.threads = context.threads
        builder.progress = { [context] done, total, message in context.progress(done, of: total, message) }
        builder.checkCancellation = { [context] in try context.checkCancellation() }
        let normalization = try builder.build(pool: pool, numModes: pool.numModes, test: test, validation: validation, into: output,
                                              scratch: context.scratchDirectory)

        context.log("pool \(pool.count) → train \(normalization.trainCount), val \(normalization.valCount); test \(normalization.testCount); images \(normalization.dims)\(params.filter == .area ? " (area downsampling)" : "")")
        context.metric("intensity_mean", normalization.intensityMean)
        context.metric("intensity_std", normalization.intensityStd)
    }
}
