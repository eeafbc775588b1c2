import Foundation
import GeometryKit
import HDF5Kit

/// The HDF5 layout of the sample stacks in `augment.pool`: the training
/// subjects' stack and every generated shard. The one owner of the array names,
/// types and their order, for both writers (`Augment`, `SampleGenerator`) and the
/// reader (`TrainingPool`).
enum PoolStackLayout {
    static let images = "images"
    static let particlesLocal = "particles_local"
    static let particlesWorld = "particles_world"
    static let scores = "scores"
    /// Generated samples only: the base and the nearest training shape (diagnostics).
    static let base = "base"

    /// One sample as the pool stores it.
    struct Sample {
        var image: [Float]
        var local: ParticleSet
        var world: ParticleSet
        var scores: [Double]
        /// (base, nearest training shape) of a generated sample; nil for a training subject.
        var base: (Int, Int)?
    }

    /// A writer for a stack of `ids` on `grid` with the pool's arrays, in a
    /// fixed order (the file's bytes depend on it). `generated` adds `base`.
    static func writer(at url: URL, ids: [String], dims: SIMD3<Int>, spacing: SIMD3<Double>, origin: SIMD3<Double>,
                       numParticles m: Int, numModes k: Int, imageGzip: Int?, generated: Bool) throws -> SampleStackWriter {
        let writer = try SampleStackWriter(creating: url, ids: ids, geometry: SampleStack.Geometry(
            dims: [dims.x, dims.y, dims.z], spacing: [spacing.x, spacing.y, spacing.z], origin: [origin.x, origin.y, origin.z]))
        try writer.addArray(images, type: .float32, sampleShape: [dims.z, dims.y, dims.x], gzipLevel: imageGzip)
        try writer.addArray(particlesLocal, type: .float64, sampleShape: [m, 3], gzipLevel: nil)
        try writer.addArray(particlesWorld, type: .float64, sampleShape: [m, 3], gzipLevel: nil)
        try writer.addArray(scores, type: .float64, sampleShape: [k], gzipLevel: nil)
        if generated { try writer.addArray(base, type: .int64, sampleShape: [2], gzipLevel: nil) }
        return writer
    }

    /// Writes `sample` as sample `index` of a stack made by `writer(at:...)`.
    static func put(_ sample: Sample, at index: Int, into writer: SampleStackWriter) throws {
        try writer.put(images, sample: index, sample.image)
        try writer.put(particlesLocal, sample: index, sample.local.flattened)
        try writer.put(particlesWorld, sample: index, sample.world.flattened)
        try writer.put(scores, sample: index, sample.scores)
        if let (b, nearest) = sample.base { try writer.put(base, sample: index, [Int64(b), Int64(nearest)]) }
    }
}
