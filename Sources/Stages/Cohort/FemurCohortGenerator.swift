import Foundation
import ShapeModel
import GeometryKit
import Workflow

/// A synthetic femur cohort with known correspondence, computed from the
/// `femur-cohort` parameters alone.
///
/// Construction does the cheap, global part: each subject's anatomy, side and
/// pose (from its own random stream, seeded by `(seed, index)`), the shared
/// grid, the template particles, every subject's local particles and the
/// Procrustes world frame. `volumes(_:)` renders one subject's images on demand,
/// so a writer can stream subjects without holding the cohort in memory.
public struct FemurCohortGenerator: Sendable {
    public let params: FemurCohort.Params
    /// Subject ids (`f001_L`, `f002_R`, ...), sorted.
    public let ids: [String]
    public let shapes: [FemurShape]
    /// Anatomical → image frame of each subject (rigid).
    public let poses: [SimilarityTransform]
    /// The mean femur, on which the particles are defined.
    public let template: FemurShape
    /// The template's particles (anatomical frame): farthest-point samples of its surface.
    public let templateParticles: [SIMD3<Double>]
    public let grid: CohortGrid
    /// Particles in each subject's image frame.
    public let localParticles: [ParticleSet]
    /// Procrustes alignment of the local particles: world particles and their mean.
    public let alignment: GeneralizedProcrustes.Alignment

    /// Builds the cohort's shapes and particles with up to `threads` threads.
    public init(_ params: FemurCohort.Params, threads: Int = 1) throws {
        let issues = params.validate()
        if let first = issues.first {
            throw StageFailure("femur-cohort parameter '\(first.parameter)': \(first.message)")
        }
        self.params = params
        let mean = FemurAnatomy()
        var ids: [String] = [], shapes: [FemurShape] = [], poses: [SimilarityTransform] = []
        let width = max(3, String(params.subjects).count)
        for i in 0..<params.subjects {
            var rng = SampleRandom(seed: params.seed, index: UInt64(i))
            let left = rng.uniform() < params.left_fraction
            var anatomy = mean.sample(using: &rng, scale: params.shape_variation)
            var draws = 1
            while !anatomy.problems.isEmpty {
                guard draws < 100 else {
                    throw StageFailure("subject \(i + 1): no valid femur in 100 draws (\(anatomy.problems[0])); lower shape_variation")
                }
                anatomy = mean.sample(using: &rng, scale: params.shape_variation)
                draws += 1
            }
            // Groomed ShapeWorks femurs are rigidly aligned but not exactly: keep a
            // small residual pose, so local and world frames differ as they do there.
            let angles = SIMD3(rng.normal(), rng.normal(), rng.normal()) * (params.pose_rotation * .pi / 180)
            let shift = SIMD3(rng.normal(), rng.normal(), rng.normal()) * params.pose_translation
            poses.append(SimilarityTransform(rotation: SimilarityTransform.rotation(vector: angles), scale: 1, translation: shift))
            shapes.append(FemurShape(anatomy))
            let number = String(repeating: "0", count: max(0, width - String(i + 1).count)) + String(i + 1)
            // Right femurs are mirrored to the left when grooming (as ShapeWorks
            // does), so the side only shows in the id.
            ids.append("f\(number)_\(left ? "L" : "R")")
        }
        self.ids = ids
        self.shapes = shapes
        self.poses = poses
        template = FemurShape(mean)
        templateParticles = Self.surfaceSamples(of: template, count: params.particles)

        let bones = shapes, frames = poses
        let boxes = Self.parallelMap(count: shapes.count, threads: threads) { CohortGrid.box(of: bones[$0], pose: frames[$0]) }
        var lower = SIMD3<Double>(repeating: .infinity), upper = -lower
        for box in boxes { lower = pointwiseMin(lower, box.min); upper = pointwiseMax(upper, box.max) }
        grid = CohortGrid(covering: lower, upper, margin: params.margin, voxelSize: params.voxel_size)

        let template = self.template, seeds = templateParticles
        localParticles = Self.parallelMap(count: shapes.count, threads: threads) { i in
            ParticleSet(points: seeds.map { frames[i].apply(template.corresponding($0, on: bones[i])) })
        }
        alignment = GeneralizedProcrustes.align(localParticles)
    }

    /// Mean of the world particles.
    public var meanParticles: ParticleSet {
        var sum = [SIMD3<Double>](repeating: .zero, count: params.particles)
        for shape in alignment.world { for (j, p) in shape.points.enumerated() { sum[j] += p } }
        return ParticleSet(points: sum.map { $0 / Double(alignment.world.count) })
    }

    /// The image, segmentation and distance transform of subject `i`.
    public func volumes(_ i: Int) throws -> SubjectVolumes {
        // A stream of its own: the images never shift the anatomy's draws.
        var rng = SampleRandom(seed: params.seed ^ 0x1A6E_5EED_0000_0000, index: UInt64(i))
        return try CohortImageSynthesis.render(shapes[i], pose: poses[i], grid: grid, noise: params.noise, rng: &rng)
    }

    /// The dense surface of rendered volumes (image frame): the zero level of the distance transform.
    public func mesh(of volumes: SubjectVolumes) throws -> Mesh {
        do { return try Mesh.contour(volumes.distance, isovalue: 0) } catch {
            throw StageFailure("cannot extract the femur surface: \(error)")
        }
    }

    /// A dense mesh of the mean shape in the world frame whose surface passes
    /// through the mean particles: the template's surface warped by the
    /// thin-plate spline that takes the template particles to the mean particles
    /// (it interpolates them exactly, and the template particles lie on the
    /// template's surface).
    public func meanMesh() throws -> Mesh {
        let box = CohortGrid.box(of: template, pose: .identity)
        let grid = CohortGrid(covering: box.min, box.max, margin: 2 * params.voxel_size, voxelSize: params.voxel_size)
        let field = try CohortImageSynthesis.distanceField(template, pose: .identity, grid: grid)
        var mesh = try self.mesh(of: SubjectVolumes(
            image: ImageVolume(dims: grid.dims, spacing: grid.spacing, origin: grid.origin, fill: 0),
            segmentation: field.segmentation,
            distance: ImageVolume(dims: grid.dims, spacing: grid.spacing, origin: grid.origin, voxels: field.distance)))
        let warp: ThinPlateSpline
        do { warp = try ThinPlateSpline(from: templateParticles, to: meanParticles.points) } catch {
            throw StageFailure("cannot map the template to the mean shape: \(error)")
        }
        let points = mesh.points
        mesh.points = Self.parallelMap(count: points.count, threads: 2) { warp(points[$0]) }
        return mesh
    }

    /// `count` well-spread points on `shape`'s surface: farthest-point sampling of
    /// the voxels of a thin shell around it (about 20 candidates per point), each
    /// chosen point projected onto the surface. Starts from the highest candidate
    /// (the top of the head), so the order is deterministic.
    static func surfaceSamples(of shape: FemurShape, count: Int) -> [SIMD3<Double>] {
        let box = shape.boundingBox
        // A femur's surface is about 25 000 mm²; aim at ~20 candidates per particle.
        let step = min(max((25_000 / (20 * Double(count))).squareRoot(), 0.5), 4)
        let n = SIMD3<Int>(((box.max - box.min) / step).rounded(.up)) &+ 1
        var candidates: [SIMD3<Double>] = []
        for z in 0..<n.z {
            for y in 0..<n.y {
                for x in 0..<n.x {
                    let p = box.min + SIMD3(Double(x), Double(y), Double(z)) * step
                    if abs(shape.signedDistance(p)) < 0.6 * step { candidates.append(p) }
                }
            }
        }
        // At most 8192 particles and a step of at least 0.5 mm leave ~15 candidates each.
        precondition(candidates.count >= count, "template shell has \(candidates.count) candidates for \(count) particles")
        var start = 0
        for (i, p) in candidates.enumerated() where p.z > candidates[start].z { start = i }
        var nearest = [Double](repeating: .infinity, count: candidates.count)
        var chosen: [Int] = []
        var next = start
        for _ in 0..<count {
            chosen.append(next)
            let c = candidates[next]
            var best = 0, bestDistance = -1.0
            for i in 0..<candidates.count {
                let d = ((candidates[i] - c) * (candidates[i] - c)).sum()
                if d < nearest[i] { nearest[i] = d }
                if nearest[i] > bestDistance { bestDistance = nearest[i]; best = i }
            }
            next = best
        }
        return chosen.map { shape.project(candidates[$0]) }
    }

    /// `body(i)` for `i` in `0..<count` on up to `threads` threads; results in index
    /// order, whatever the scheduling.
    static func parallelMap<T: Sendable>(count: Int, threads: Int, _ body: @Sendable (Int) -> T) -> [T] {
        let workers = max(1, min(threads, count))
        let slots = SlotArray<T>(count: count)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            for i in stride(from: w, to: count, by: workers) { slots.set(i, body(i)) }
        }
        return slots.values
    }
}

/// Write-once result slots filled from several threads (each index by one thread).
final class SlotArray<T>: @unchecked Sendable {
    private var storage: [T?]
    private let lock = NSLock()
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: T) { lock.lock(); storage[i] = value; lock.unlock() }
    var values: [T] { storage.map { $0! } }
}
