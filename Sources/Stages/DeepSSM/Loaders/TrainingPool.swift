import Foundation
import GeometryKit
import HDF5Kit
import Workflow

/// The `pool` artifact of stage `augment`, read one sample at a time: the
/// training subjects then the generated samples, each with its image, local
/// particles and raw world PCA scores.
///
/// Layout: `index.json` (`files`, `count`, `num_modes`, `num_particles`, `dims`,
/// `spacing`, `origin`) and the sample stacks it lists, originals first
/// (`originals.h5`, `shard-00000.h5`, ...), each with `images`,
/// `particles_local`, `particles_world`, `scores` and root `ids`.
public final class TrainingPool: @unchecked Sendable {
    // @unchecked: SampleStack serialises its own access to HDF5.

    /// The contents of `index.json`.
    public struct Index: Codable, Sendable, Equatable {
        public var files: [String]
        public var count: Int
        public var num_modes: Int
        public var num_particles: Int
        public var dims: [Int]
        public var spacing: [Double]
        public var origin: [Double]

        public init(files: [String], count: Int, num_modes: Int, num_particles: Int,
                    dims: [Int], spacing: [Double], origin: [Double]) {
            self.files = files
            self.count = count
            self.num_modes = num_modes
            self.num_particles = num_particles
            self.dims = dims
            self.spacing = spacing
            self.origin = origin
        }
    }

    public static let indexName = "index.json"

    public let directory: URL
    public let index: Index
    /// Number of samples (originals + generated).
    public var count: Int { index.count }
    /// K: scores per sample.
    public var numModes: Int { index.num_modes }
    public var numParticles: Int { index.num_particles }
    public let dims: SIMD3<Int>
    public let spacing: SIMD3<Double>
    public let origin: SIMD3<Double>
    private let stacks: [SampleStack]
    /// First global sample index of each stack, plus the total at the end.
    private let offsets: [Int]

    /// Opens the pool in `directory` and checks that `index.json` and its files agree.
    public init(directory: URL) throws {
        self.directory = directory
        let indexURL = directory.appendingPathComponent(Self.indexName)
        do {
            index = try JSONDecoder().decode(Index.self, from: Data(contentsOf: indexURL))
        } catch {
            throw StageFailure("cannot read training pool index \(indexURL.path): \(error); rerun stage 'augment'")
        }
        guard index.dims.count == 3, index.spacing.count == 3, index.origin.count == 3 else {
            throw StageFailure("\(indexURL.path): dims, spacing and origin need 3 values each; rerun stage 'augment'")
        }
        dims = SIMD3(index.dims[0], index.dims[1], index.dims[2])
        spacing = SIMD3(index.spacing[0], index.spacing[1], index.spacing[2])
        origin = SIMD3(index.origin[0], index.origin[1], index.origin[2])
        stacks = try index.files.map { try SampleStack(contentsOf: directory.appendingPathComponent($0)) }
        var offsets = [0]
        for s in stacks { offsets.append(offsets.last! + s.count) }
        self.offsets = offsets
        guard offsets.last == index.count else {
            throw StageFailure("training pool \(directory.path): index.json says \(index.count) samples but its files hold \(offsets.last!); rerun stage 'augment'")
        }
    }

    private func locate(_ i: Int) throws -> (SampleStack, Int) {
        guard i >= 0, i < count else {
            throw StageFailure("training pool sample \(i) is out of range 0..<\(count)")
        }
        // Binary search over stack offsets.
        var lo = 0, hi = stacks.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if offsets[mid] <= i { lo = mid } else { hi = mid - 1 }
        }
        return (stacks[lo], i - offsets[lo])
    }

    /// The id of sample i (a subject id, or `Generated_sample_0001` ...).
    public func id(_ i: Int) throws -> String {
        let (stack, j) = try locate(i)
        return stack.ids[j]
    }

    /// The image of sample i, on the pool's grid.
    public func image(_ i: Int) throws -> ImageVolume {
        let (stack, j) = try locate(i)
        let voxels: [Float] = try stack.sample(PoolStackLayout.images, j)
        return ImageVolume(dims: dims, spacing: spacing, origin: origin, voxels: voxels)
    }

    /// Raw world PCA scores of sample i (K values).
    public func scores(_ i: Int) throws -> [Double] {
        let (stack, j) = try locate(i)
        return try stack.sample(PoolStackLayout.scores, j)
    }

    /// Particles of sample i in the image (local) frame.
    public func localParticles(_ i: Int) throws -> ParticleSet {
        let (stack, j) = try locate(i)
        return ParticleSet(flattened: try stack.sample(PoolStackLayout.particlesLocal, j, as: Double.self))
    }

    /// Particles of sample i in the world (Procrustes) frame.
    public func worldParticles(_ i: Int) throws -> ParticleSet {
        let (stack, j) = try locate(i)
        return ParticleSet(flattened: try stack.sample(PoolStackLayout.particlesWorld, j, as: Double.self))
    }

    /// Whether sample i is a training subject (originals come first).
    public func isOriginal(_ i: Int) -> Bool { i < (offsets.count > 1 ? offsets[1] : 0) }
}
