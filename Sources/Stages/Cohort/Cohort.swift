import Foundation
import GeometryKit
import HDF5Kit
import Workflow

/// A cohort artifact (output of `femur-cohort`, `shapeworks-femur`, and `split`'s
/// `train` and `test`), read one subject at a time:
///
/// - `subjects.h5`: a sample stack with `images` (float32), `segmentations`
///   (uint8 0/1), `distance_transforms` (float32, mm, negative inside), each
///   `[n, nz, ny, nx]`, and `particles_local`, `particles_world` (float64 `[n, M, 3]`);
/// - `meshes/<id>.vtk`: dense surface of each subject, image (local) frame;
/// - `mean/mean_dense.vtk`, `mean/mean_particles.particles`: the mean shape, world frame;
/// - `cohort.json`: ids, dims, spacing, origin, num_particles, source.
///
/// Errors are `StageFailure`s that name the file and say what to rerun.
public final class Cohort: @unchecked Sendable {
    // @unchecked: SampleStack serialises its own access to HDF5.
    public let directory: URL
    /// Subject ids, sorted.
    public let ids: [String]
    /// Voxel counts (nx, ny, nz) of the shared grid.
    public let dims: SIMD3<Int>
    public let spacing: SIMD3<Double>
    public let origin: SIMD3<Double>
    /// Particles per shape (M).
    public let numParticles: Int
    /// Where the subjects came from (`femur-cohort seed 1`, a data directory, ...).
    public let source: String
    private let stack: SampleStack

    /// The metadata file of a cohort directory.
    public struct Metadata: Codable, Sendable, Equatable {
        public var ids: [String]
        public var dims: [Int]
        public var spacing: [Double]
        public var origin: [Double]
        public var num_particles: Int
        public var source: String
        /// Lowest and highest image intensity over all subjects.
        public var intensity_range: [Double]

        public init(ids: [String], grid: CohortGrid, numParticles: Int, source: String, intensityRange: [Double]) {
            self.ids = ids
            dims = [grid.dims.x, grid.dims.y, grid.dims.z]
            spacing = [grid.spacing.x, grid.spacing.y, grid.spacing.z]
            origin = [grid.origin.x, grid.origin.y, grid.origin.z]
            num_particles = numParticles
            self.source = source
            intensity_range = intensityRange
        }
    }

    /// Opens the cohort in `directory`, checking that `cohort.json` and `subjects.h5` agree.
    public init(directory: URL) throws {
        self.directory = directory
        let metadataURL = directory.appendingPathComponent("cohort.json")
        let metadata: Metadata
        do {
            metadata = try JSONDecoder().decode(Metadata.self, from: Data(contentsOf: metadataURL))
        } catch {
            throw StageFailure("cannot read cohort metadata \(metadataURL.path): \(error); the directory is not a cohort artifact — connect the output of femur-cohort, shapeworks-femur or split")
        }
        guard metadata.dims.count == 3, metadata.spacing.count == 3, metadata.origin.count == 3 else {
            throw StageFailure("\(metadataURL.path): dims, spacing and origin need 3 values each; rerun the stage that wrote the cohort")
        }
        let stackURL = directory.appendingPathComponent("subjects.h5")
        do {
            stack = try SampleStack(contentsOf: stackURL)
        } catch {
            throw StageFailure("cannot open \(stackURL.path): \(error); rerun the stage that wrote the cohort")
        }
        guard stack.ids == metadata.ids else {
            throw StageFailure("\(stackURL.path) holds subjects \(stack.ids.prefix(3).joined(separator: ", ")), ... but cohort.json lists \(metadata.ids.prefix(3).joined(separator: ", ")), ...; the cohort directory is inconsistent: rerun the stage that wrote it")
        }
        ids = metadata.ids
        dims = SIMD3(metadata.dims[0], metadata.dims[1], metadata.dims[2])
        spacing = SIMD3(metadata.spacing[0], metadata.spacing[1], metadata.spacing[2])
        origin = SIMD3(metadata.origin[0], metadata.origin[1], metadata.origin[2])
        numParticles = metadata.num_particles
        source = metadata.source
    }

    /// Number of subjects.
    public var count: Int { ids.count }

    /// The shared grid.
    public var grid: CohortGrid { CohortGrid(dims: dims, spacing: spacing, origin: origin) }

    /// The metadata as stored.
    public func metadata() throws -> Metadata {
        let url = directory.appendingPathComponent("cohort.json")
        do { return try JSONDecoder().decode(Metadata.self, from: Data(contentsOf: url)) } catch {
            throw StageFailure("cannot read \(url.path): \(error)")
        }
    }

    /// CT-like image of subject `i`.
    public func image(_ i: Int) throws -> ImageVolume { try volume("images", i, as: Float.self) }

    /// Segmentation of subject `i` as a 0/1 volume.
    public func segmentation(_ i: Int) throws -> ImageVolume { try volume("segmentations", i, as: UInt8.self) }

    /// Signed distance transform of subject `i` (mm, negative inside).
    public func distanceTransform(_ i: Int) throws -> ImageVolume { try volume("distance_transforms", i, as: Float.self) }

    /// Particles of subject `i` in its image frame.
    public func localParticles(_ i: Int) throws -> ParticleSet { try particles("particles_local", i) }

    /// Particles of subject `i` in the world (Procrustes) frame.
    public func worldParticles(_ i: Int) throws -> ParticleSet { try particles("particles_world", i) }

    /// Dense surface mesh of subject `i`, image frame.
    public func mesh(_ i: Int) throws -> Mesh {
        try readMesh(directory.appendingPathComponent("meshes/\(try id(i)).vtk"))
    }

    /// Dense mean mesh, world frame.
    public func meanMesh() throws -> Mesh { try readMesh(directory.appendingPathComponent("mean/mean_dense.vtk")) }

    /// Mean particles, world frame.
    public func meanParticles() throws -> ParticleSet {
        let url = directory.appendingPathComponent("mean/mean_particles.particles")
        do { return try ParticleSet.read(from: url) } catch {
            throw StageFailure("cannot read the mean particles: \(error); rerun the stage that wrote the cohort")
        }
    }

    private func id(_ i: Int) throws -> String {
        guard ids.indices.contains(i) else {
            throw StageFailure("subject index \(i) is outside 0..<\(count) of cohort \(directory.path)")
        }
        return ids[i]
    }

    private func volume<T: HDF5Element & BinaryInteger>(_ name: String, _ i: Int, as: T.Type) throws -> ImageVolume {
        let values: [T] = try sample(name, i)
        return ImageVolume(dims: dims, spacing: spacing, origin: origin, voxels: values.map { Float($0) })
    }

    private func volume(_ name: String, _ i: Int, as: Float.Type) throws -> ImageVolume {
        ImageVolume(dims: dims, spacing: spacing, origin: origin, voxels: try sample(name, i))
    }

    private func particles(_ name: String, _ i: Int) throws -> ParticleSet {
        let values: [Double] = try sample(name, i)
        guard values.count == 3 * numParticles else {
            throw StageFailure("\(name) of subject \(try id(i)) holds \(values.count / 3) particles where cohort.json says \(numParticles); rerun the stage that wrote the cohort")
        }
        return ParticleSet(flattened: values)
    }

    private func sample<T: HDF5Element>(_ name: String, _ i: Int) throws -> [T] {
        _ = try id(i)
        do {
            let values = try stack.sample(name, i, as: T.self)
            if name.hasPrefix("particles") { return values }
            guard values.count == dims.x * dims.y * dims.z else {
                throw StageFailure("\(name) of subject \(ids[i]) in \(stack.url.path) holds \(values.count) voxels where the grid \(dims.x)×\(dims.y)×\(dims.z) needs \(dims.x * dims.y * dims.z); rerun the stage that wrote the cohort")
            }
            return values
        } catch let error as HDF5Error {
            throw StageFailure("cannot read \(name) of subject \(ids[i]): \(error); rerun the stage that wrote the cohort")
        }
    }

    private func readMesh(_ url: URL) throws -> Mesh {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw StageFailure("mesh \(url.path) is missing; rerun the stage that wrote the cohort")
        }
        do { return try Mesh.read(from: url) } catch {
            throw StageFailure("cannot read mesh \(url.path): \(error)")
        }
    }
}
