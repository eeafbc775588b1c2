import Foundation
import ShapeModel
import GeometryKit
import Workflow

/// What every part of an `augment` run starts from: the training cohort, its
/// PCA model, the fitted sampler and the sample generator. The whole stage and
/// each of its shards (a Slurm array task) build it the same way, so a shard
/// computed on its own holds the same bytes as one computed inside `run`.
struct AugmentSetup {
    let params: Augment.Params
    let cohort: Cohort
    /// Training shapes, world and local frames.
    let world: [ParticleSet]
    let local: [ParticleSet]
    let model: PCAModel
    let generator: SampleGenerator

    /// Parameters that change no generated sample, left out of the shard memo keys.
    static let ignoredByShards: Set<String> = ["num_samples", "plots"]

    init(_ params: Augment.Params, context: StageContext) throws {
        self.params = params
        let cohort = try Cohort(directory: context.input("train"))
        let n = cohort.count
        guard n >= 2 else {
            throw StageFailure("augment needs at least 2 training subjects, the 'train' cohort has \(n); connect a larger cohort")
        }
        let world = try (0..<n).map(cohort.worldParticles)
        let local = try (0..<n).map(cohort.localParticles)
        // N centred shapes span at most N − 1 modes, and the samplers need a
        // non-singular K × K covariance: a small cohort (the tiny test's 4
        // subjects) gets fewer modes, with a note, rather than a failure.
        var numModes = params.num_dim
        if numModes > n - 1 {
            context.log("num_dim \(numModes) is more than the \(n - 1) modes \(n) training shapes span; using \(n - 1)")
            numModes = n - 1
        }
        let model = try PCAModel.fit(world, numModes: numModes, percentVariability: params.percent_variability)
        context.log(String(format: "pca: %d of %d modes keep %.2f %% of the variance (%d shapes × %d particles)",
                           model.numModes, model.modeCount, model.varianceKept * 100, n, model.numParticles))
        context.metric("pca_num_modes", Double(model.numModes))
        context.metric("pca_variance_kept", model.varianceKept)

        let seed = UInt64(params.seed)
        let kind = SamplerKind(rawValue: params.sampler) ?? .kde
        let sampler = try kind.make(scores: model.scores, noise: KDESampler.Noise(rawValue: params.kde_noise) ?? .whitened,
                                    maxComponents: params.mixture_max_components, seed: seed)
        if let kde = sampler as? KDESampler {
            context.log("kde: bandwidth h = \(kde.bandwidth), noise model \(kde.noise.rawValue)")
            context.metric("kde_bandwidth", kde.bandwidth)
        } else if let mixture = sampler as? MixtureSampler {
            context.log("mixture: \(mixture.components.count) components by bic")
        }
        if params.randomBase { context.log("image base: a training subject drawn uniformly per sample") }
        var motion: [String] = []
        if let r = params.pose_jitter, r > 0 { motion.append("a random rotation (sd \(r)° per axis)") }
        if let t = params.pose_shift, t > 0 { motion.append("shift (sd \(t) mm per axis)") }
        if let z = params.pose_scale, z > 0 { motion.append("scaling (log sd \(z))") }
        if !motion.isEmpty {
            context.log("pose: each generated shape moved in its image frame by \(motion.joined(separator: ", "))")
        }
        if params.keepResidual { context.log("residual: each generated shape keeps its image base's detail outside the \(model.numModes) modes") }
        self.cohort = cohort
        self.world = world
        self.local = local
        self.model = model
        generator = SampleGenerator(
            model: model, sampler: sampler, seed: seed, world: world, local: local, landmarkStride: params.landmark_stride,
            warp: ImageWarp(gridStep: params.grid_step, correctionRadius: params.correction_radius, threads: 1),
            randomBase: params.randomBase, keepResidual: params.keepResidual,
            poseJitter: (rotation: (params.pose_jitter ?? 0) * .pi / 180, shift: params.pose_shift ?? 0,
                         scale: params.pose_scale ?? 0), loadImage: { try cohort.image($0) })
    }

    /// The memoized sample stack of `shard`, generated now when absent; `made`
    /// tells which.
    func storedShard(_ shard: Augment.Shard, context: StageContext) throws -> (url: URL, made: Bool) {
        let slot = context.memo(shard.item, ignoring: Self.ignoredByShards)
        var made = false
        let stored = try slot.get(in: context.scratchDirectory) { url in
            made = true
            try generator.writeShard(to: url, first: shard.first, count: shard.count, threads: context.threads,
                                     gzipLevel: params.compression > 0 ? params.compression : nil)
        }
        return (stored, made)
    }
}
