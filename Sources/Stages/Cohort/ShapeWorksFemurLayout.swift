import Foundation
import GeometryKit
import Workflow

/// The directory layout of ShapeWorks' femur use-case data (femur-v0):
///
/// ```
/// groomed/images/<id>.nrrd                      aligned, cropped CT, one grid for all
/// groomed/distance_transforms/<id>.nrrd         signed distance, surface at 0
/// shape_models/femur/<M>/<id>_local.particles   M lines `x y z`, image frame
/// shape_models/femur/<M>/<id>_world.particles   Procrustes (world) frame
/// shape_models/femur/mean/femur_dense.vtk       mean dense mesh
/// shape_models/femur/mean/femur_sparse.particles mean particles
/// ```
///
/// `listing(of:)` checks a directory against it (every problem names the file);
/// `export(_:to:)` writes any cohort in it, plus `groomed/segmentations/<id>.nrrd`
/// and `groomed/meshes/<id>.vtk`, for ShapeWorks Studio, 3D Slicer or ParaView.
public enum ShapeWorksFemurLayout {
    public static let images = "groomed/images"
    public static let distanceTransforms = "groomed/distance_transforms"
    public static let segmentations = "groomed/segmentations"
    public static let meshes = "groomed/meshes"
    public static let models = "shape_models/femur"
    public static let mean = "shape_models/femur/mean"

    /// The files of one dataset, subjects sorted by id.
    public struct Listing: Sendable {
        public var root: URL
        public var ids: [String]
        /// The particle directory (`shape_models/femur/1024`).
        public var particles: URL
        public func image(_ id: String) -> URL { root.appendingPathComponent("\(images)/\(id).nrrd") }
        public func distanceTransform(_ id: String) -> URL { root.appendingPathComponent("\(distanceTransforms)/\(id).nrrd") }
        public func localParticles(_ id: String) -> URL { particles.appendingPathComponent("\(id)_local.particles") }
        public func worldParticles(_ id: String) -> URL { particles.appendingPathComponent("\(id)_world.particles") }
        public var meanMesh: URL { root.appendingPathComponent("\(mean)/femur_dense.vtk") }
        public var meanParticles: URL { root.appendingPathComponent("\(mean)/femur_sparse.particles") }
    }

    /// Lists the dataset in `root`. `particleDirectory` names the folder under
    /// `shape_models/femur` (empty: the only one whose name is a number).
    public static func listing(of root: URL, particleDirectory: String = "") throws -> Listing {
        let fm = FileManager.default
        func need(_ path: String) throws -> URL {
            let url = root.appendingPathComponent(path)
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw StageFailure("\(url.path) is missing; a ShapeWorks femur dataset needs \(path)/ (see docs/cohort.md for the layout)")
            }
            return url
        }
        guard fm.fileExists(atPath: root.path) else {
            throw StageFailure("data directory \(root.path) does not exist; set data_dir to the folder that holds groomed/ and shape_models/")
        }
        let imageDir = try need(images)
        _ = try need(distanceTransforms)
        let modelDir = try need(models)
        let particleDir: URL
        if particleDirectory.isEmpty {
            let numbered = try contents(of: modelDir).filter { name in
                !name.isEmpty && name.allSatisfy(\.isNumber)
                    && (try? modelDir.appendingPathComponent(name).resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true
            }
            guard numbered.count == 1 else {
                throw StageFailure(numbered.isEmpty
                    ? "\(modelDir.path) has no particle folder (a folder named by the particle count, e.g. 1024); add one or set particles_dir"
                    : "\(modelDir.path) has several particle folders (\(numbered.joined(separator: ", "))); choose one with particles_dir")
            }
            particleDir = modelDir.appendingPathComponent(numbered[0])
        } else {
            particleDir = try need("\(models)/\(particleDirectory)")
        }
        let ids = try contents(of: imageDir).filter { $0.hasSuffix(".nrrd") }.map { String($0.dropLast(5)) }
        guard !ids.isEmpty else { throw StageFailure("\(imageDir.path) holds no .nrrd images; check data_dir") }
        let listing = Listing(root: root, ids: ids, particles: particleDir)
        for id in ids {
            for (url, what) in [(listing.distanceTransform(id), "distance transform"),
                                (listing.localParticles(id), "local particles"),
                                (listing.worldParticles(id), "world particles")] where !fm.fileExists(atPath: url.path) {
                throw StageFailure("image \(listing.image(id).path) has no \(what): expected \(url.path); add the file or remove the image")
            }
        }
        let known = Set(ids)
        for name in try contents(of: particleDir) {
            for suffix in ["_local.particles", "_world.particles"] where name.hasSuffix(suffix) {
                let id = String(name.dropLast(suffix.count))
                if !known.contains(id) {
                    throw StageFailure("particles \(particleDir.appendingPathComponent(name).path) have no image: expected \(listing.image(id).path); add the image or remove the particles")
                }
            }
        }
        for name in try contents(of: root.appendingPathComponent(distanceTransforms)) where name.hasSuffix(".nrrd") {
            let id = String(name.dropLast(5))
            if !known.contains(id) {
                throw StageFailure("distance transform \(root.appendingPathComponent("\(distanceTransforms)/\(name)").path) has no image: expected \(listing.image(id).path); add the image or remove the distance transform")
            }
        }
        for url in [listing.meanMesh, listing.meanParticles] where !fm.fileExists(atPath: url.path) {
            throw StageFailure("the mean shape file \(url.path) is missing; the dataset needs \(mean)/femur_dense.vtk and femur_sparse.particles")
        }
        return listing
    }

    /// Names in `directory`, sorted (byte order, as `ls` in the C locale).
    static func contents(of directory: URL) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { !$0.hasPrefix(".") }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        } catch {
            throw StageFailure("cannot list \(directory.path): \(error)")
        }
    }

    /// Writes `cohort` in this layout under `root` (created; existing files are replaced).
    public static func export(_ cohort: Cohort, to root: URL, progress: (Int, Int) -> Void = { _, _ in }) throws {
        let fm = FileManager.default
        let particleDir = "\(models)/\(cohort.numParticles)"
        for dir in [images, distanceTransforms, segmentations, meshes, particleDir, mean] {
            do { try fm.createDirectory(at: root.appendingPathComponent(dir), withIntermediateDirectories: true) } catch {
                throw StageFailure("cannot create \(root.appendingPathComponent(dir).path): \(error)")
            }
        }
        for (i, id) in cohort.ids.enumerated() {
            do {
                try NRRD.write(try cohort.image(i), to: root.appendingPathComponent("\(images)/\(id).nrrd"))
                try NRRD.write(try cohort.distanceTransform(i), to: root.appendingPathComponent("\(distanceTransforms)/\(id).nrrd"))
                try NRRD.write(try cohort.segmentation(i), to: root.appendingPathComponent("\(segmentations)/\(id).nrrd"), type: .uchar)
                try cohort.mesh(i).write(to: root.appendingPathComponent("\(meshes)/\(id).vtk"))
                try cohort.localParticles(i).write(to: root.appendingPathComponent("\(particleDir)/\(id)_local.particles"))
                try cohort.worldParticles(i).write(to: root.appendingPathComponent("\(particleDir)/\(id)_world.particles"))
            } catch let failure as StageFailure {
                throw failure
            } catch {
                throw StageFailure("cannot export subject \(id) to \(root.path): \(error)")
            }
            progress(i + 1, cohort.count)
        }
        do {
            try cohort.meanMesh().write(to: root.appendingPathComponent("\(mean)/femur_dense.vtk"))
            try cohort.meanParticles().write(to: root.appendingPathComponent("\(mean)/femur_sparse.particles"))
        } catch let failure as StageFailure {
            throw failure
        } catch {
            throw StageFailure("cannot export the mean shape to \(root.path): \(error)")
        }
    }
}
