import Foundation
import GeometryKit
import HDF5Kit
@testable import Stages
@testable import ShapeModel
@testable import Workflow

/// Writes a small synthetic cohort (the `train` input of `augment`): ellipsoid
/// shapes varying along three modes plus per-particle jitter, world → local by a
/// per-subject similarity, and blob images of the local shapes.
struct TinyCohortStage: Stage {
    static let kind = "tiny-cohort"
    static let version = 1
    static let summary = "a tiny synthetic cohort for tests"
    static let inputs: [Workflow.Port] = []
    static let outputs = [Workflow.Port("cohort")]
    struct Params: StageParameters {
        var subjects = 6
        var particles = 48
    }

    static let grid = CohortGrid(dims: SIMD3(20, 24, 18), spacing: SIMD3(1.5, 1.5, 2), origin: SIMD3(-15, -18, -17))

    /// Semi-axes of subject s's ellipsoid (world frame, mm).
    static func axes(_ s: Int) -> SIMD3<Double> {
        var random = SampleRandom(seed: 77, index: UInt64(s))
        return SIMD3(8 * (1 + 0.12 * random.normal()), 10 * (1 + 0.08 * random.normal()), 12 * (1 + 0.05 * random.normal()))
    }

    static func shape(_ s: Int, particles m: Int) -> ParticleSet {
        var random = SampleRandom(seed: 78, index: UInt64(s))
        let golden = Double.pi * (3 - 5.0.squareRoot()), e = axes(s)
        return ParticleSet(points: (0..<m).map { i in
            let z = 1 - 2 * (Double(i) + 0.5) / Double(m), r = (1 - z * z).squareRoot(), t = golden * Double(i)
            return SIMD3(r * cos(t), r * sin(t), z) * e + SIMD3(random.normal(), random.normal(), random.normal()) * 0.2
        })
    }

    /// Subject s's world → local (image frame) similarity.
    static func pose(_ s: Int) -> SimilarityTransform {
        let angle = 0.1 * Double(s)
        return SimilarityTransform(rotation: (SIMD3(cos(angle), -sin(angle), 0), SIMD3(sin(angle), cos(angle), 0), SIMD3(0, 0, 1)),
                                   scale: 1 + 0.02 * Double(s), translation: SIMD3(1.0 * Double(s) - 2.5, -0.2, 0.5))
    }

    func run(_ params: Params, context: StageContext) async throws {
        let out = context.outputURL("cohort")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let g = Self.grid
        let ids = (0..<params.subjects).map { String(format: "s%02d_L", $0) }
        let writer = try SampleStackWriter(creating: out.appendingPathComponent("subjects.h5"), ids: ids, geometry: SampleStack.Geometry(
            dims: [g.dims.x, g.dims.y, g.dims.z], spacing: [g.spacing.x, g.spacing.y, g.spacing.z], origin: [g.origin.x, g.origin.y, g.origin.z]))
        let shape = [g.dims.z, g.dims.y, g.dims.x], m = params.particles
        try writer.addArray("images", type: .float32, sampleShape: shape)
        try writer.addArray("segmentations", type: .uint8, sampleShape: shape)
        try writer.addArray("distance_transforms", type: .float32, sampleShape: shape)
        try writer.addArray("particles_local", type: .float64, sampleShape: [m, 3])
        try writer.addArray("particles_world", type: .float64, sampleShape: [m, 3])
        for s in 0..<params.subjects {
            let world = Self.shape(s, particles: m)
            let pose = Self.pose(s), toWorld = pose.inverse, e = Self.axes(s)
            let local = pose.apply(world)
            var image = ImageVolume(dims: g.dims, spacing: g.spacing, origin: g.origin)
            var distance = image
            for z in 0..<g.dims.z { for y in 0..<g.dims.y { for x in 0..<g.dims.x {
                let p = image.point(SIMD3(Double(x), Double(y), Double(z)))
                let nearest = local.points.map { ((p - $0) * (p - $0)).sum() }.min()!.squareRoot()
                let q = toWorld.apply(p) / e
                let inside = (q * q).sum() < 1
                image[x, y, z] = Float(inside ? 800 + 10 * Double(s) : 100) + Float(20 * sin(p.x + p.y))
                distance[x, y, z] = Float(inside ? -nearest : nearest)
            } } }
            try writer.put("images", sample: s, image.voxels)
            try writer.put("segmentations", sample: s, distance.voxels.map { $0 < 0 ? UInt8(1) : 0 })
            try writer.put("distance_transforms", sample: s, distance.voxels)
            try writer.put("particles_local", sample: s, local.flattened)
            try writer.put("particles_world", sample: s, world.flattened)
        }
        try writer.finish()
        let metadata = Cohort.Metadata(ids: ids, grid: g, numParticles: m, source: "tiny-cohort", intensityRange: [80, 900])
        try JSONEncoder().encode(metadata).write(to: out.appendingPathComponent("cohort.json"))
    }
}

/// An engine with the tiny cohort and `augment`, in a temporary directory.
final class AugmentHarness {
    let directory: URL
    let engine: Engine

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ssmflow-augment-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        engine = try Engine(registry: StageRegistry([TinyCohortStage.self, Augment.self]),
                            cacheDirectory: directory.appendingPathComponent("cache"))
    }

    deinit {
        if let store = try? CacheStore(root: directory) { try? store.removeTree(directory) }
    }

    static func workflow(_ augmentParams: String) -> String {
        """
        workflow: augment-test
        stages:
          cohort: {uses: tiny-cohort}
          augment:
            uses: augment
            inputs: {train: cohort.cohort}
            params: {\(augmentParams)}
        """
    }

    /// Runs the workflow and returns the run and the augment stage's outputs.
    func run(_ augmentParams: String) async throws -> (RunRecord, [String: URL]) {
        let record = try await engine.run(engine.load(yaml: Self.workflow(augmentParams)))
        guard let key = record["augment"]?.key, let stage = engine.store.record(key) else {
            throw StageFailure("augment did not run: \(record["augment"]?.error ?? "no record")")
        }
        return (record, stage.outputs.mapValues { engine.store.objectURL($0.digest.hex) })
    }
}
