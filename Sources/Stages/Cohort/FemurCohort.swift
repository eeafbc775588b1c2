import Foundation
import GeometryKit
import Workflow

/// Stage `femur-cohort`: the default dataset, a synthetic femur cohort with known
/// correspondence (see `FemurCohortGenerator`), written as a cohort artifact.
public struct FemurCohort: Stage {
    public static let kind = "femur-cohort"
    public static let version = 1
    public static let summary = "generate a synthetic proximal-femur cohort: CT-like images, segmentations, distance transforms, meshes, corresponding particles"
    public static let inputs: [Workflow.Port] = []
    public static let outputs: [Workflow.Port] = [Workflow.Port("cohort", "cohort directory (subjects.h5, meshes/, mean/, cohort.json)")]

    public struct Params: StageParameters, Equatable {
        /// Number of subjects.
        public var subjects = 50
        /// Particles per shape.
        public var particles = 1024
        /// Isotropic voxel size, mm.
        public var voxel_size = 1.0
        /// Space around the largest bone on every side of the shared grid, mm.
        public var margin = 8.0
        public var seed: UInt64 = 1
        /// Standard deviation of the image noise (intensity units, about HU).
        public var noise = 25.0
        /// Share of left femurs.
        public var left_fraction = 0.7
        /// Multiplies every spread of the anatomy (0: every subject is the mean femur).
        public var shape_variation = 1.0
        /// Residual rotation of the groomed bones, degrees (standard deviation per axis).
        public var pose_rotation = 2.0
        /// Residual translation of the groomed bones, mm (standard deviation per axis).
        public var pose_translation = 2.0

        public init() {}

        public func validate() -> [ParameterIssue] {
            var issues: [ParameterIssue] = []
            if subjects < 1 { issues.append(.init("subjects", "must be at least 1, got \(subjects)")) }
            // Farthest-point sampling costs particles × candidates (20 per particle).
            if particles < 3 || particles > 8192 {
                issues.append(.init("particles", "must be between 3 and 8192, got \(particles)"))
            }
            if !(voxel_size >= 0.25 && voxel_size <= 10) {
                issues.append(.init("voxel_size", "must be between 0.25 and 10 mm, got \(voxel_size)"))
            }
            if !(margin >= 0 && margin <= 100) { issues.append(.init("margin", "must be between 0 and 100 mm, got \(margin)")) }
            if !(noise >= 0) { issues.append(.init("noise", "must be 0 or more, got \(noise)")) }
            if !(left_fraction >= 0 && left_fraction <= 1) {
                issues.append(.init("left_fraction", "must be between 0 and 1, got \(left_fraction)"))
            }
            if !(shape_variation >= 0 && shape_variation <= 3) {
                issues.append(.init("shape_variation", "must be between 0 and 3, got \(shape_variation)"))
            }
            if !(pose_rotation >= 0 && pose_rotation <= 20) {
                issues.append(.init("pose_rotation", "must be between 0 and 20 degrees, got \(pose_rotation)"))
            }
            if !(pose_translation >= 0 && pose_translation <= 20) {
                issues.append(.init("pose_translation", "must be between 0 and 20 mm, got \(pose_translation)"))
            }
            return issues
        }
    }

    public init() {}

    public func run(_ params: Params, context: StageContext) async throws {
        let threads = max(1, context.threads)
        let started = Date()
        let generator = try FemurCohortGenerator(params, threads: threads)
        let grid = generator.grid
        context.log("grid \(grid.dims.x)×\(grid.dims.y)×\(grid.dims.z) at \(params.voxel_size) mm, \(params.particles) particles, shapes in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        let writer = try CohortWriter(directory: context.outputURL("cohort"), ids: generator.ids, grid: grid,
                                      numParticles: params.particles, source: "femur-cohort seed \(params.seed)")
        let n = params.subjects
        var done = 0
        var renderSeconds = 0.0, writeSeconds = 0.0
        while done < n {
            try context.checkCancellation()
            let batch = done..<min(n, done + threads)
            let renderStart = Date()
            // Render and mesh a batch in parallel, write it in index order.
            let results = FemurCohortGenerator.parallelMap(count: batch.count, threads: threads) { k -> Result<(SubjectVolumes, Mesh), any Error> in
                Result {
                    let volumes = try generator.volumes(batch.lowerBound + k)
                    return (volumes, try generator.mesh(of: volumes))
                }
            }
            let writeStart = Date()
            renderSeconds += writeStart.timeIntervalSince(renderStart)
            for (k, result) in results.enumerated() {
                let i = batch.lowerBound + k
                let (volumes, mesh) = try result.get()
                try writer.add(i, image: volumes.image, segmentation: volumes.segmentation, distance: volumes.distance,
                               local: generator.localParticles[i], world: generator.alignment.world[i], mesh: mesh)
            }
            writeSeconds += Date().timeIntervalSince(writeStart)
            done = batch.upperBound
            context.progress(done, of: n, "subjects")
        }
        let meanStart = Date()
        try writer.finish(meanMesh: try generator.meanMesh(), meanParticles: generator.meanParticles)
        context.log(String(format: "images and meshes %.1f s, writing %.1f s, mean shape %.1f s",
                           renderSeconds, writeSeconds, Date().timeIntervalSince(meanStart)))
        context.metric("subjects", Double(n))
        context.metric("seconds", Date().timeIntervalSince(started))
    }
}
