import Foundation
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

/// Makes generated samples from a fitted PCA model and sampler (spec §2). Sample
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
    /// Training shapes, world and local frames.
    let world: [ParticleSet]
    let local: [ParticleSet]
    /// World → local similarity of each training shape.
    let toLocal: [SimilarityTransform]
    private let loadImage: @Sendable (Int) throws -> ImageVolume
    private var images: [Int: ImageVolume] = [:]
    private let lock = NSLock()

    /// - Parameter loadImage: reads training image i; each is read once and kept.
    public init(model: PCAModel, sampler: any ShapeSampler, seed: UInt64, world: [ParticleSet], local: [ParticleSet],
                landmarkStride: Int, warp: ImageWarp, loadImage: @escaping @Sendable (Int) throws -> ImageVolume) {
        precondition(world.count == local.count && landmarkStride >= 1, "generator: inconsistent training data")
        self.model = model
        self.sampler = sampler
        self.seed = seed
        self.world = world
        self.local = local
        self.landmarkStride = landmarkStride
        self.warp = warp
        self.loadImage = loadImage
        toLocal = zip(world, local).map { SimilarityTransform.umeyama(from: $0.points, to: $1.points) }
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
        let draw = sampler.draw(&random)
        let world = model.reconstruct(scores: draw.scores)
        let nearest = nearestOriginal(world)
        let local = toLocal[nearest].apply(world)
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
    /// stack at `url`, computing `threads` samples at a time (each warp on one
    /// thread) and writing them in index order, so the bytes never depend on threads.
    public func writeShard(to url: URL, first: Int, count: Int, threads: Int, gzipLevel: Int?) throws {
        let ids = (first..<(first + count)).map(Self.id)
        let grid = try image(0)
        let writer = try SampleStackWriter(creating: url, ids: ids, geometry: SampleStack.Geometry(
            dims: [grid.dims.x, grid.dims.y, grid.dims.z],
            spacing: [grid.spacing.x, grid.spacing.y, grid.spacing.z],
            origin: [grid.origin.x, grid.origin.y, grid.origin.z]))
        let m = model.numParticles
        try writer.addArray("images", type: .float32, sampleShape: [grid.dims.z, grid.dims.y, grid.dims.x], gzipLevel: gzipLevel)
        try writer.addArray("particles_local", type: .float64, sampleShape: [m, 3], gzipLevel: nil)
        try writer.addArray("particles_world", type: .float64, sampleShape: [m, 3], gzipLevel: nil)
        try writer.addArray("scores", type: .float64, sampleShape: [model.numModes], gzipLevel: nil)
        // Base and nearest training shape, for diagnostics.
        try writer.addArray("base", type: .int64, sampleShape: [2], gzipLevel: nil)
        let workers = max(1, threads)
        var start = 0
        while start < count {
            let batch = min(workers, count - start)
            var results = [Result<GeneratedSample, Error>?](repeating: nil, count: batch)
            results.withUnsafeMutableBufferPointer { buffer in
                nonisolated(unsafe) let out = buffer
                let from = first + start
                DispatchQueue.concurrentPerform(iterations: batch) { k in
                    out[k] = Result { try self.sample(from + k) }
                }
            }
            for (k, result) in results.enumerated() {
                let s = try result!.get()
                let j = start + k
                try writer.put("images", sample: j, s.image.voxels)
                try writer.put("particles_local", sample: j, s.local.flattened)
                try writer.put("particles_world", sample: j, s.world.flattened)
                try writer.put("scores", sample: j, s.scores)
                try writer.put("base", sample: j, [Int64(s.base), Int64(s.nearest)])
            }
            start += batch
        }
        try writer.finish()
    }
}
