import Foundation
import ShapeModel
import GeometryKit
import HDF5Kit
import Workflow

/// Stage `augment` (docs/reference.md §2): PCA of the training shapes' world particles, new
/// shapes sampled in PCA space, and for each a new image: a base subject's image
/// warped by a thin-plate spline onto the new shape.
///
/// Generated samples are computed in shards of `shard_size` consecutive indices,
/// each memoized with `num_samples` left out of its key: raising `num_samples`
/// computes only the new samples, lowering it reuses what exists. On Slurm each
/// shard is one array task (`runShard`); `run` then only assembles.
public struct Augment: ShardedStage {
    public static let kind = "augment"
    public static let version = 1
    public static let summary = "pca of the training shapes, sampled new shapes and thin-plate-spline warped images"
    public static let inputs = [Port("train", "training cohort (world and local particles, images)")]
    public static let outputs = [
        Port("pca", "directory with pca.h5: mean, eigenvalues, modes, training scores"),
        Port("pool", "training pool: index.json, originals.h5 and generated shards (images, particles, scores)"),
        Port("total_data", "TotalData.csv-compatible table: image, particles, K world scores; originals first"),
        Port("plots", "scatter-plot matrix and per-mode histograms of original vs generated scores"),
    ]

    public struct Params: StageParameters {
        /// Generated samples (the reference makes 4960, for 5000 with 40 originals).
        public var num_samples = 4960
        /// PCA modes kept (K); 0 picks K from `percent_variability`.
        public var num_dim = 6
        public var percent_variability = 0.95
        /// `kde`, `gaussian` or `mixture`.
        public var sampler = "kde"
        /// KDE noise model: `whitened` (noise ~ N(0, h Σ)) or `reference` (σ = h in raw score units).
        public var kde_noise = "whitened"
        /// Most Gaussian-mixture components tried (chosen by BIC).
        public var mixture_max_components = 5
        public var seed = 1
        /// The warp's spline uses every n-th particle as a landmark.
        public var landmark_stride = 2
        /// Voxels between exact spline evaluations of the warp field.
        public var grid_step = 2
        /// Voxels around a grid cell within which landmark terms are exact.
        public var correction_radius = 10
        /// Generated samples per memoized shard file.
        public var shard_size = 32
        /// gzip level (1–9) of the generated images; 0 stores them raw (fastest).
        public var compression = 0
        /// Draw the score plots (PNG); false writes only their data (scores.csv).
        public var plots = true
        /// Whose image a generated sample warps: `sampler` (left out: the
        /// sampler's base, as the reference) or `random` (any training subject,
        /// drawn uniformly; docs/augmentation.md, "Image base").
        public var image_base: String? = nil
        /// What a generated shape has outside the K modes: `none` (left out: it
        /// lies in the model, as the reference) or `base` (its image base's
        /// residual, so generated images keep real out-of-model detail;
        /// docs/augmentation.md, "Residual").
        public var residual: String? = nil
        /// Standard deviation (degrees, per axis) of a random rotation of each
        /// generated shape about its centroid in the image frame; left out or 0
        /// keeps the nearest original's pose, as the reference (docs/augmentation.md, "Pose").
        public var pose_jitter: Double? = nil
        /// Standard deviation (mm, per axis) of a random shift of each generated shape.
        public var pose_shift: Double? = nil
        /// Standard deviation of the log of a random scaling of each generated
        /// shape about its centroid (0.05: about ±5 % in size).
        public var pose_scale: Double? = nil
        public static let optionalParameters = ["image_base", "residual", "pose_jitter", "pose_shift", "pose_scale"]

        var randomBase: Bool { image_base == "random" }
        var keepResidual: Bool { residual == "base" }

        public init() {}

        public func validate() -> [ParameterIssue] {
            var issues: [ParameterIssue] = []
            if num_samples < 0 { issues.append(.init("num_samples", "must be ≥ 0, got \(num_samples)")) }
            if num_dim < 0 { issues.append(.init("num_dim", "must be ≥ 0 (0 selects by percent_variability), got \(num_dim)")) }
            if !(percent_variability > 0 && percent_variability <= 1) {
                issues.append(.init("percent_variability", "must be in (0, 1], got \(percent_variability)"))
            }
            if SamplerKind(rawValue: sampler) == nil {
                issues.append(.init("sampler", "unknown sampler '\(sampler)'; use one of \(SamplerKind.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            if KDESampler.Noise(rawValue: kde_noise) == nil {
                issues.append(.init("kde_noise", "unknown noise model '\(kde_noise)'; use whitened or reference"))
            }
            if let image_base, !["sampler", "random"].contains(image_base) {
                issues.append(.init("image_base", "'\(image_base)' is not an image base; use sampler or random"))
            }
            if let pose_jitter, !(pose_jitter >= 0 && pose_jitter <= 20) {
                issues.append(.init("pose_jitter", "must be between 0 and 20 degrees, got \(pose_jitter)"))
            }
            if let pose_shift, !(pose_shift >= 0 && pose_shift <= 20) {
                issues.append(.init("pose_shift", "must be between 0 and 20 mm, got \(pose_shift)"))
            }
            if let pose_scale, !(pose_scale >= 0 && pose_scale <= 0.5) {
                issues.append(.init("pose_scale", "must be between 0 and 0.5 (a log-scale standard deviation), got \(pose_scale)"))
            }
            if let residual, !["none", "base"].contains(residual) {
                issues.append(.init("residual", "'\(residual)' is not a residual; use none or base"))
            }
            if mixture_max_components < 1 { issues.append(.init("mixture_max_components", "must be ≥ 1, got \(mixture_max_components)")) }
            if seed < 0 { issues.append(.init("seed", "must be ≥ 0, got \(seed)")) }
            if landmark_stride < 1 { issues.append(.init("landmark_stride", "must be ≥ 1, got \(landmark_stride)")) }
            if grid_step < 1 { issues.append(.init("grid_step", "must be ≥ 1, got \(grid_step)")) }
            if correction_radius < 0 { issues.append(.init("correction_radius", "must be ≥ 0, got \(correction_radius)")) }
            if shard_size < 1 { issues.append(.init("shard_size", "must be ≥ 1, got \(shard_size)")) }
            if !(0...9).contains(compression) { issues.append(.init("compression", "must be 0 (raw) or a gzip level 1–9, got \(compression)")) }
            return issues
        }
    }

    public init() {}

    /// Consecutive generated samples (1-based `first`, `count`) memoized together.
    struct Shard: Equatable {
        var first: Int
        var count: Int
        /// The memo item: the samples it holds, never the shard's position, so a
        /// shard keeps its key when `num_samples` changes.
        var item: String { "shard-\(first)-\(count)" }
    }

    /// The shards of `num_samples` samples, `shard_size` each (the last may be short).
    static func shards(_ params: Params) -> [Shard] {
        stride(from: 1, through: params.num_samples, by: params.shard_size).map {
            Shard(first: $0, count: min(params.shard_size, params.num_samples - $0 + 1))
        }
    }

    /// ⌈num_samples / shard_size⌉: one Slurm array task per shard.
    public static func shardCount(_ params: Params) -> Int { shards(params).count }

    /// Generates shard `index` into its memo slot exactly as `run` does, and
    /// writes no output.
    public func runShard(_ index: Int, _ params: Params, context: StageContext) async throws {
        let shards = Self.shards(params)
        guard shards.indices.contains(index) else {
            throw StageFailure("stage '\(context.stageID)' has \(shards.count) shards of generated samples but shard \(index) was asked for; resubmit the workflow")
        }
        let setup = try AugmentSetup(params, context: context)
        let shard = shards[index]
        let (_, made) = try setup.storedShard(shard, context: context)
        context.log("shard \(index): samples \(shard.first)...\(shard.first + shard.count - 1) \(made ? "generated" : "were already memoized")")
    }

    /// Writes the PCA model and the pool (originals, then every shard from its
    /// memo slot, generating the missing ones), `total_data` and the plots.
    public func run(_ params: Params, context: StageContext) async throws {
        let setup = try AugmentSetup(params, context: context)
        let cohort = setup.cohort, model = setup.model
        let pcaDirectory = context.outputURL("pca")
        try FileManager.default.createDirectory(at: pcaDirectory, withIntermediateDirectories: true)
        try model.write(to: pcaDirectory.appendingPathComponent(PCAModel.fileName))

        let pool = context.outputURL("pool")
        try FileManager.default.createDirectory(at: pool, withIntermediateDirectories: true)
        try writeOriginals(cohort, model: model, world: setup.world, local: setup.local,
                           to: pool.appendingPathComponent("originals.h5"))
        var files = ["originals.h5"]
        let shards = Self.shards(params)
        var reused = 0
        for (s, shard) in shards.enumerated() {
            try context.checkCancellation()
            let (stored, made) = try setup.storedShard(shard, context: context)
            if !made { reused += shard.count }
            let name = String(format: "shard-%05d.h5", s)
            try Self.link(stored, to: pool.appendingPathComponent(name))
            files.append(name)
            context.progress(shard.first + shard.count - 1, of: params.num_samples, "generated samples")
        }
        context.log("generated \(params.num_samples) samples in \(shards.count) shards; \(reused) reused from earlier runs")
        context.metric("samples_reused", Double(reused))

        let index = TrainingPool.Index(
            files: files, count: cohort.count + params.num_samples, num_modes: model.numModes, num_particles: model.numParticles,
            dims: [cohort.dims.x, cohort.dims.y, cohort.dims.z], spacing: [cohort.spacing.x, cohort.spacing.y, cohort.spacing.z],
            origin: [cohort.origin.x, cohort.origin.y, cohort.origin.z])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(index).write(to: pool.appendingPathComponent(TrainingPool.indexName))

        let opened = try TrainingPool(directory: pool)
        try ReferenceAugmentationLayout.totalData(opened).write(to: context.outputURL("total_data"), atomically: false, encoding: .utf8)
        try AugmentPlots.write(opened, to: context.outputURL("plots"), draw: params.plots)
    }

    /// The training subjects as the pool's first stack, with their PCA scores.
    private func writeOriginals(_ cohort: Cohort, model: PCAModel, world: [ParticleSet], local: [ParticleSet], to url: URL) throws {
        let writer = try PoolStackLayout.writer(at: url, ids: cohort.ids, dims: cohort.dims, spacing: cohort.spacing,
                                                origin: cohort.origin, numParticles: model.numParticles,
                                                numModes: model.numModes, imageGzip: nil, generated: false)
        for i in 0..<cohort.count {
            try PoolStackLayout.put(.init(image: try cohort.image(i).voxels, local: local[i], world: world[i],
                                          scores: model.scores[i], base: nil), at: i, into: writer)
        }
        try writer.finish()
    }

    /// A hard link to a stored shard (no copy of gigabytes), or a copy where the
    /// cache and the output live on different file systems.
    static func link(_ stored: URL, to destination: URL) throws {
        do {
            try FileManager.default.linkItem(at: stored, to: destination)
        } catch {
            try FileManager.default.copyItem(at: stored, to: destination)
        }
    }
}
