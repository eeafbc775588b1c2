import Foundation
import GeometryKit
import Workflow

/// Stage `shapeworks-femur`: reads real femur data in ShapeWorks' femur-v0
/// layout (`ShapeWorksFemurLayout`) from `data_dir` into a cohort artifact.
/// Segmentations are the distance transforms' insides (DT ≤ 0), meshes their
/// zero level. The whole directory is hashed into the stage key, so edited data
/// reruns the stage.
public struct ShapeWorksFemur: Stage, ReadsExternalFiles {
    public static let kind = "shapeworks-femur"
    public static let version = 1
    public static let summary = "read a ShapeWorks femur dataset (groomed images, distance transforms, particles, mean shape) as a cohort"
    public static let inputs: [Workflow.Port] = []
    public static let outputs: [Workflow.Port] = [Workflow.Port("cohort", "cohort directory (subjects.h5, meshes/, mean/, cohort.json)")]

    public struct Params: StageParameters, Equatable {
        /// The dataset folder (holding groomed/ and shape_models/), relative to the workflow file.
        public var data_dir = ""
        /// Particle folder under shape_models/femur (empty: the only numbered one, e.g. 1024).
        public var particles_dir = ""
        /// Read only the first N subjects in id order (0: all), for a quick check.
        public var subjects = 0

        public init() {}

        public func validate() -> [ParameterIssue] {
            var issues: [ParameterIssue] = []
            if data_dir.isEmpty { issues.append(ParameterIssue("data_dir", "is required: the folder that holds groomed/ and shape_models/")) }
            if subjects < 0 || subjects == 1 { issues.append(ParameterIssue("subjects", "must be 0 (all) or at least 2; got \(subjects)")) }
            return issues
        }
    }

    public static func externalFiles(_ params: Params) -> [String] { params.data_dir.isEmpty ? [] : [params.data_dir] }

    public init() {}

    public func run(_ params: Params, context: StageContext) async throws {
        let root = params.data_dir.hasPrefix("/")
            ? URL(fileURLWithPath: params.data_dir)
            : context.workflowDirectory.appendingPathComponent(params.data_dir)
        try Self.load(root, particleDirectory: params.particles_dir, subjects: params.subjects, into: context.outputURL("cohort"),
                      progress: { context.progress($0, of: $1, "subjects") })
    }

    /// Reads the dataset in `root` and writes it as a cohort at `output`.
    /// `subjects` > 0 keeps the first that many subjects in id order.
    public static func load(_ root: URL, particleDirectory: String = "", subjects: Int = 0, into output: URL,
                            progress: (Int, Int) -> Void = { _, _ in }) throws {
        var listing = try ShapeWorksFemurLayout.listing(of: root, particleDirectory: particleDirectory)
        if subjects > 0 {
            guard subjects <= listing.ids.count else {
                throw StageFailure("subjects is \(subjects) but \(root.path) holds \(listing.ids.count); lower subjects or set it to 0 (all)")
            }
            listing.ids = Array(listing.ids.prefix(subjects))
        }
        var writer: CohortWriter?
        var first: (id: String, image: ImageVolume, particles: Int)?
        for (i, id) in listing.ids.enumerated() {
            let image = try readImage(listing.image(id))
            let distance = try readImage(listing.distanceTransform(id))
            let local = try readParticles(listing.localParticles(id))
            let world = try readParticles(listing.worldParticles(id))
            if let first {
                guard image.dims == first.image.dims, approximatelyEqual(image, first.image) else {
                    throw StageFailure("image \(listing.image(id).path) is \(describe(image)) but \(listing.image(first.id).path) is \(describe(first.image)); groomed images must share one grid — regroom them together")
                }
            }
            guard distance.dims == image.dims, approximatelyEqual(distance, image) else {
                throw StageFailure("distance transform \(listing.distanceTransform(id).path) is \(describe(distance)) but its image is \(describe(image)); they must share one grid")
            }
            let count = first?.particles ?? local.count
            for (set, url) in [(local, listing.localParticles(id)), (world, listing.worldParticles(id))] where set.count != count {
                throw StageFailure("\(url.path) has \(set.count) particles but \(first.map { listing.localParticles($0.id).path } ?? listing.localParticles(id).path) has \(count); every particle file of a shape model has the same count")
            }
            if first == nil {
                first = (id, image, count)
                writer = try CohortWriter(directory: output, ids: listing.ids,
                                          grid: CohortGrid(dims: image.dims, spacing: image.spacing, origin: image.origin),
                                          numParticles: count, source: "shapeworks-femur \(root.path)")
            }
            let mesh: Mesh
            do { mesh = try Mesh.contour(distance, isovalue: 0) } catch {
                throw StageFailure("distance transform \(listing.distanceTransform(id).path) has no surface at 0 (\(error)); check that it is a signed distance, negative inside")
            }
            try writer!.add(i, image: image, segmentation: distance.voxels.map { $0 <= 0 ? 1 : 0 }, distance: distance,
                            local: local, world: world, mesh: mesh)
            progress(i + 1, listing.ids.count)
        }
        let meanParticles = try readParticles(listing.meanParticles)
        if let first, meanParticles.count != first.particles {
            throw StageFailure("\(listing.meanParticles.path) has \(meanParticles.count) particles but the shapes have \(first.particles); use the mean of the same shape model")
        }
        let meanMesh: Mesh
        do { meanMesh = try Mesh.read(from: listing.meanMesh) } catch {
            throw StageFailure("cannot read the mean mesh \(listing.meanMesh.path): \(error)")
        }
        try writer!.finish(meanMesh: meanMesh, meanParticles: meanParticles)
    }

    static func readImage(_ url: URL) throws -> ImageVolume {
        do { return try NRRD.read(url) } catch {
            throw StageFailure("cannot read \(url.path): \(error)")
        }
    }

    static func readParticles(_ url: URL) throws -> ParticleSet {
        do { return try ParticleSet.read(from: url) } catch let error as ParticlesFileError {
            // The error already reads `file:line: problem`.
            throw StageFailure("\(error)")
        } catch {
            throw StageFailure("cannot read \(url.path): \(error)")
        }
    }

    /// Same spacing and origin within 1e-4 mm (NRRD headers round-trip decimals).
    static func approximatelyEqual(_ a: ImageVolume, _ b: ImageVolume) -> Bool {
        (0..<3).allSatisfy { abs(a.spacing[$0] - b.spacing[$0]) <= 1e-4 && abs(a.origin[$0] - b.origin[$0]) <= 1e-4 }
    }

    static func describe(_ image: ImageVolume) -> String {
        func f(_ v: SIMD3<Double>) -> String { "(\(v.x), \(v.y), \(v.z))" }
        return "\(image.dims.x)×\(image.dims.y)×\(image.dims.z) voxels, spacing \(f(image.spacing)), origin \(f(image.origin))"
    }
}
