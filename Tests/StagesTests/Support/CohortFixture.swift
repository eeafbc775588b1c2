import Foundation
import GeometryKit
import Workflow
import XCTest
@testable import Stages

/// Small synthetic cohorts for tests: coarse voxels and few particles, so a
/// cohort takes a few seconds in a debug build.
enum CohortFixture {
    /// Parameters of a tiny cohort (3 subjects, 2.5 mm voxels, 96 particles).
    static func params(subjects: Int = 3, seed: UInt64 = 7) -> FemurCohort.Params {
        var p = FemurCohort.Params()
        p.subjects = subjects
        p.particles = 96
        p.voxel_size = 2.5
        p.margin = 5
        p.seed = seed
        return p
    }

    /// A fresh directory, removed when `test` ends.
    static func temporaryDirectory(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("cohort-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Writes the cohort of `generator` at `directory`, as the `femur-cohort` stage does.
    static func write(_ generator: FemurCohortGenerator, to directory: URL) throws {
        let writer = try CohortWriter(directory: directory, ids: generator.ids, grid: generator.grid,
                                      numParticles: generator.params.particles, source: "test")
        for i in generator.ids.indices {
            let volumes = try generator.volumes(i)
            try writer.add(i, image: volumes.image, segmentation: volumes.segmentation, distance: volumes.distance,
                           local: generator.localParticles[i], world: generator.alignment.world[i],
                           mesh: try generator.mesh(of: volumes))
        }
        try writer.finish(meanMesh: try generator.meanMesh(), meanParticles: generator.meanParticles)
    }

    /// A written tiny cohort in a fresh directory.
    static func cohort(_ test: XCTestCase, subjects: Int = 3) throws -> Cohort {
        let directory = try temporaryDirectory(test).appendingPathComponent("cohort")
        try write(FemurCohortGenerator(params(subjects: subjects), threads: 2), to: directory)
        return try Cohort(directory: directory)
    }

    /// An engine over the pipeline's kinds with its cache in `directory`.
    static func engine(_ directory: URL) throws -> Engine {
        try Engine(registry: StageRegistry(StageCatalog.all), cacheDirectory: directory)
    }

    /// The stored location of output `output` of `stage` in `run`.
    static func output(_ engine: Engine, _ run: RunRecord, _ stage: String, _ output: String) throws -> URL {
        let key = try XCTUnwrap(run[stage]?.key, "stage \(stage) has no key")
        let record = try XCTUnwrap(engine.store.record(key), "no record for \(stage)")
        let artifact = try XCTUnwrap(record.outputs[output], "\(stage) has no output \(output)")
        return engine.store.objectURL(artifact.digest.hex)
    }

    /// Trilinear interpolation of `image` at physical point `p`.
    static func trilinear(_ image: ImageVolume, _ p: SIMD3<Double>) -> Double {
        Double(image.sample(atPoint: p, outside: .nan))
    }
}
