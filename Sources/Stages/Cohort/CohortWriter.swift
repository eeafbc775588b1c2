import Foundation
import GeometryKit
import HDF5Kit
import Workflow

/// Writes a cohort artifact (see `Cohort`) one subject at a time, so a cohort
/// never has to fit in memory. Put subjects in index order for byte-identical
/// files; `finish` writes the mean shape and `cohort.json` and checks that every
/// subject arrived.
public final class CohortWriter {
    public let directory: URL
    public let ids: [String]
    public let grid: CohortGrid
    public let numParticles: Int
    private let source: String
    private let stack: SampleStackWriter
    private var low = Double.infinity, high = -Double.infinity

    /// Creates `directory` (which must not exist) and the subject stack.
    public init(directory: URL, ids: [String], grid: CohortGrid, numParticles: Int, source: String) throws {
        self.directory = directory
        self.ids = ids
        self.grid = grid
        self.numParticles = numParticles
        self.source = source
        if let duplicate = Dictionary(grouping: ids, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw StageFailure("subject id '\(duplicate)' appears twice; ids must be unique")
        }
        if let bad = ids.first(where: { $0.isEmpty || $0.contains("/") || $0.contains("\n") }) {
            throw StageFailure("subject id \(bad.debugDescription) is empty or holds '/' or a newline; ids name files")
        }
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: directory.appendingPathComponent("meshes"), withIntermediateDirectories: true)
            try fm.createDirectory(at: directory.appendingPathComponent("mean"), withIntermediateDirectories: true)
        } catch {
            throw StageFailure("cannot create cohort directory \(directory.path): \(error)")
        }
        let image = [grid.dims.z, grid.dims.y, grid.dims.x]
        do {
            stack = try SampleStackWriter(
                creating: directory.appendingPathComponent("subjects.h5"), ids: ids,
                geometry: SampleStack.Geometry(dims: [grid.dims.x, grid.dims.y, grid.dims.z],
                                               spacing: [grid.spacing.x, grid.spacing.y, grid.spacing.z],
                                               origin: [grid.origin.x, grid.origin.y, grid.origin.z]))
            // Noisy images barely compress and deflate would cost most of the write
            // time; labels compress a hundredfold.
            try stack.addArray("images", type: .float32, sampleShape: image, gzipLevel: nil)
            try stack.addArray("segmentations", type: .uint8, sampleShape: image, gzipLevel: 1)
            try stack.addArray("distance_transforms", type: .float32, sampleShape: image, gzipLevel: nil)
            try stack.addArray("particles_local", type: .float64, sampleShape: [numParticles, 3], gzipLevel: nil)
            try stack.addArray("particles_world", type: .float64, sampleShape: [numParticles, 3], gzipLevel: nil)
        } catch let error as HDF5Error {
            throw StageFailure("cannot create the subject stack: \(error)")
        }
    }

    /// Writes subject `index`: volumes on the cohort grid, M particles in each
    /// frame, its dense mesh (image frame).
    public func add(_ index: Int, image: ImageVolume, segmentation: [UInt8], distance: ImageVolume,
                    local: ParticleSet, world: ParticleSet, mesh: Mesh) throws {
        let id = ids[index]
        for (name, volume) in [("image", image), ("distance transform", distance)] where volume.dims != grid.dims {
            throw StageFailure("the \(name) of subject \(id) is \(volume.dims.x)×\(volume.dims.y)×\(volume.dims.z) but the cohort grid is \(grid.dims.x)×\(grid.dims.y)×\(grid.dims.z); all images of a cohort must share one grid")
        }
        guard segmentation.count == grid.count else {
            throw StageFailure("the segmentation of subject \(id) has \(segmentation.count) voxels where the grid has \(grid.count)")
        }
        for (frame, set) in [("local", local), ("world", world)] where set.count != numParticles {
            throw StageFailure("subject \(id) has \(set.count) \(frame) particles where the cohort has \(numParticles); every shape needs the same particle count")
        }
        do {
            try stack.put("images", sample: index, image.voxels)
            try stack.put("segmentations", sample: index, segmentation)
            try stack.put("distance_transforms", sample: index, distance.voxels)
            try stack.put("particles_local", sample: index, local.flattened)
            try stack.put("particles_world", sample: index, world.flattened)
        } catch let error as HDF5Error {
            throw StageFailure("cannot write subject \(id): \(error)")
        }
        for v in image.voxels {
            low = min(low, Double(v)); high = max(high, Double(v))
        }
        do { try mesh.write(to: directory.appendingPathComponent("meshes/\(id).vtk")) } catch {
            throw StageFailure("cannot write the mesh of subject \(id): \(error)")
        }
    }

    /// Writes the mean shape (world frame) and `cohort.json`, and closes the stack.
    public func finish(meanMesh: Mesh, meanParticles: ParticleSet) throws {
        do { try stack.finish() } catch let error as HDF5Error {
            throw StageFailure("the cohort is incomplete: \(error)")
        }
        do {
            try meanMesh.write(to: directory.appendingPathComponent("mean/mean_dense.vtk"))
            try meanParticles.write(to: directory.appendingPathComponent("mean/mean_particles.particles"))
        } catch {
            throw StageFailure("cannot write the mean shape: \(error)")
        }
        let metadata = Cohort.Metadata(ids: ids, grid: grid, numParticles: numParticles, source: source,
                                       intensityRange: ids.isEmpty ? [0, 0] : [low, high])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        do {
            try encoder.encode(metadata).write(to: directory.appendingPathComponent("cohort.json"), options: .atomic)
        } catch {
            throw StageFailure("cannot write cohort.json in \(directory.path): \(error)")
        }
    }
}
