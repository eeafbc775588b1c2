import Foundation
import ShapeModel
import GeometryKit
import HDF5Kit
import Workflow

/// One generated training sample.
public struct GeneratedSample: Sendable {
    /// `Generated_sample_0001` ...
    public var id: String
    /// Raw world PCA scores z.
    public var scores: [Double]
    /// p(z), world frame.
    public var world: ParticleSet
    /// p(z) in the nearest original's image frame.
    public var local: ParticleSet
    /// The training shape whose image was warped.
    public var base: Int
    /// The training shape nearest p(z) (Frobenius), whose similarity gave `local`.
    public var nearest: Int
    public var image: ImageVolume
}

/// Makes generated samples from a fitted PCA model and sampler (docs/reference.md §2). Sample
/// i depends only on the seed, i, the model and the training data: its random
/// stream is `SampleRandom(seed:, index: i)`, never a shared sequence.
public final class SampleGenerator: @unchecked Sendable {
    // @unchecked: the image cache is guarded by `lock`; everything else is immutable.
    public let model: PCAModel
    public let sampler: any ShapeSampler
    public let seed: UInt64
    /// Fit the warp's spline on every `landmarkStride`-th particle.
    public let landmarkStride: Int
    public let warp: ImageWarp
    /// Whose image is warped: the sampler's base (the KDE kernel's centre, or
    /// the nearest original), or, when true, a training subject drawn uniformly
    /// from a stream of its own, so that no image's appearance goes with one
    /// region of shape space.
    public let randomBase: Bool
    /// When true a generated shape carries its image base's residual, the part
    /// of the base's world shape outside the K retained modes, so the warp moves
    /// the base only within the model and keeps its out-of-model detail (its
    /// scores are unchanged: the residual is orthogonal to the modes).
    public let keepResidual: Bool
    /// Standard deviations of a random rigid motion of each generated shape in
    /// its image frame (about its centroid): rotation per axis (radians),
    /// shift per axis (mm) and log scale. Zero keeps the nearest original's pose
    /// and size, as the reference.
    public let poseJitter: (rotation: Double, shift: Double, scale: Double)
    /// Training shapes, world and local frames.
    let world: [ParticleSet]
    let local: [ParticleSet]
    /// World → local similarity of each training shape.
    let toLocal: [SimilarityTransform]
    /// Each training world shape minus its projection onto the K modes (flattened).
    let residuals: [[Double]]
    private let loadImage: @Sendable (Int) throws -> ImageVolume
    private var images: [Int: ImageVolume] = [:]
    private let lock = NSLock()

    /// - Parameter loadImage: reads training image i; each is read once and kept.
    public init(model: PCAModel, sampler: any ShapeSampler, seed: UInt64, world: [ParticleSet], local: [ParticleSet],
                landmarkStride: Int, warp: ImageWarp, randomBase: Bool = false, keepResidual: Bool = false,
                poseJitter: (rotation: Double, shift: Double, scale: Double) = (0, 0, 0),
                loadImage: @escaping @Sendable (Int) throws -> ImageVolume) {
        precondition(world.count == local.count && landmarkStride >= 1, "generator: inconsistent training data")
        self.model = model
        self.sampler = sampler
        self.seed = seed
        self.world = world
        self.local = local
        self.landmarkStride = landmarkStride
        self.warp = warp
        self.randomBase = randomBase
        self.keepResidual = keepResidual
        self.poseJitter = poseJitter
        self.loadImage = loadImage
        toLocal = zip(world, local).map { SimilarityTransform.umeyama(from: $0.points, to: $1.points) }
        residuals = keepResidual ? world.map { shape in
            let inModel = model.reconstruct(scores: model.project(shape)).flattened
            return zip(shape.flattened, inModel).map { $0 - $1 }
        } : []
    }

    /// The id of generated sample `index` (1-based): `Generated_sample_0001`.
    public static func id(_ index: Int) -> String { "Generated_sample_" + String(format: "%04d", index) }

    private func image(_ i: Int) throws -> ImageVolume {
        if let hit = lock.withLock({ images[i] }) { return hit }
        let loaded = try loadImage(i)
        lock.withLock { images[i] = loaded }
        return loaded
    }

    /// Index of the training shape nearest `shape` in Frobenius norm (first on ties).
    func nearestOriginal(_ shape: ParticleSet) -> Int {
        var best = 0, bestDistance = Double.infinity
        for (i, original) in world.enumerated() {
            var d = 0.0
            for (p, q) in zip(shape.points, original.points) { d += ((p - q) * (p - q)).sum() }
            if d < bestDistance { best = i; bestDistance = d }
        }
        return best
    }

    /// Generated sample `index` (1-based).
    public func sample(_ index: Int) throws -> GeneratedSample {
        var random = SampleRandom(seed: seed, index: UInt64(index))
        var draw = sampler.draw(&random)
        if randomBase {
            // A stream apart from the sampler's, so the shapes stay those of `image_base: sampler`.
            var baseRandom = SampleRandom(seed: seed &+ 0x5EED_BA5E, index: UInt64(index))
            draw.base = min(Int(baseRandom.uniform() * Double(world.count)), world.count - 1)
        }
        var world = model.reconstruct(scores: draw.scores)
        if keepResidual {
            world = ParticleSet(flattened: zip(world.flattened, residuals[draw.base]).map { $0 + $1 })
        }
        let nearest = nearestOriginal(world)
        var local = toLocal[nearest].apply(world)
        if poseJitter.rotation > 0 || poseJitter.shift > 0 || poseJitter.scale > 0 {
            // A stream of its own, so the shapes and scores stay those without jitter.
            var poseRandom = SampleRandom(seed: seed &+ 0x9051_7E55, index: UInt64(index))
            let angles = SIMD3(poseRandom.normal(), poseRandom.normal(), poseRandom.normal()) * poseJitter.rotation
            let shift = SIMD3(poseRandom.normal(), poseRandom.normal(), poseRandom.normal()) * poseJitter.shift
            let size = exp(poseRandom.normal() * poseJitter.scale)
            let motion = SimilarityTransform(rotation: SimilarityTransform.rotation(vector: angles), scale: size)
            let centroid = local.points.reduce(.zero, +) / Double(local.count)
            local = ParticleSet(points: local.points.map { motion.apply($0 - centroid) + centroid + shift })
        }
        let id = Self.id(index)
        let picks = Array(stride(from: 0, to: local.count, by: landmarkStride))
        let spline: ThinPlateSpline
        do {
            // Backward mapping: output voxels at generated-local positions read the base image.
            spline = try ThinPlateSpline(from: picks.map { local.points[$0] }, to: picks.map { self.local[draw.base].points[$0] })
        } catch {
            throw StageFailure("\(id): cannot fit the thin-plate spline to base shape \(draw.base): \(error); try landmark_stride 1 or another seed")
        }
        let image = warp.apply(to: try image(draw.base), spline: spline)
        return GeneratedSample(id: id, scores: draw.scores, world: world, local: local, base: draw.base, nearest: nearest, image: image)
    }

    /// Writes generated samples `first ..< first + count` (1-based) as one sample
    /// stack at `url`. `threads` workers compute samples (each warp on one
    /// thread), taking the next index as they finish, while this thread writes
    /// finished samples in index order: writing overlaps warping, at most
    /// `threads + 1` finished or running samples are held, and the bytes never
    /// depend on the number of threads.
    public func writeShard(to url: URL, first: Int, count: Int, threads: Int, gzipLevel: Int?) throws {
        let ids = (first..<(first + count)).map(Self.id)
        let grid = try image(0)
        let writer = try PoolStackLayout.writer(at: url, ids: ids, dims: grid.dims, spacing: grid.spacing, origin: grid.origin,
                                                numParticles: model.numParticles, numModes: model.numModes,
                                                imageGzip: gzipLevel, generated: true)
        let queue = OrderedWork(count: count, workers: max(1, threads), window: max(1, threads) + 1) { j in
            try self.sample(first + j)
        }
        defer { queue.stop() }
        for j in 0..<count {
            let s = try queue.result(j)
            try PoolStackLayout.put(.init(image: s.image.voxels, local: s.local, world: s.world, scores: s.scores,
                                          base: (s.base, s.nearest)), at: j, into: writer)
        }
        try writer.finish()
    }
}

/// Items `0 ..< count` computed by `workers` threads, each taking the next
/// index when it finishes one, and handed out in index order by `result`. A
/// worker starts item i only when `i < consumed + window`, so at most `window`
/// items are held at a time.
final class OrderedWork<T>: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `condition`.
    private let condition = NSCondition()
    private var results: [Int: Result<T, Error>] = [:]
    private var next = 0, consumed = 0, running: Int, stopped = false
    private let count: Int, window: Int

    init(count: Int, workers: Int, window: Int, _ body: @escaping @Sendable (Int) throws -> T) {
        self.count = count
        self.window = max(1, window)
        let workers = max(1, min(workers, count))
        running = workers
        for _ in 0..<workers {
            let thread = Thread { [self] in
                while let i = self.take() {
                    let r = Result { try body(i) }
                    self.condition.withLock {
                        self.results[i] = r
                        self.condition.broadcast()
                    }
                }
                self.condition.withLock {
                    self.running -= 1
                    self.condition.broadcast()
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    private func take() -> Int? {
        condition.withLock {
            while !stopped && next < count && next >= consumed + window { condition.wait() }
            guard !stopped && next < count else { return nil }
            defer { next += 1 }
            return next
        }
    }

    /// Item `i`'s value, waiting for it; items must be asked for in order.
    func result(_ i: Int) throws -> T {
        let r: Result<T, Error> = condition.withLock {
            while results[i] == nil { condition.wait() }
            consumed = i + 1
            condition.broadcast()
            return results.removeValue(forKey: i)!
        }
        return try r.get()
    }

    /// Lets no worker start another item and waits until every worker has returned.
    func stop() {
        condition.withLock {
            stopped = true
            condition.broadcast()
            while running > 0 { condition.wait() }
        }
    }
}
