import Foundation
import GeometryKit
import Workflow
import XCTest
@testable import Stages

final class CohortTests: XCTestCase {
    func test_workflow_generatesAndSplitsTheCohort_thenHitsTheCache() async throws {
        let dir = try CohortFixture.temporaryDirectory(self)
        let engine = try CohortFixture.engine(dir.appendingPathComponent("cache"))
        let yaml = """
        workflow: femur
        stages:
          cohort:
            uses: femur-cohort
            params: {subjects: 3, particles: 48, voxel_size: 4, margin: 4}
          split:
            uses: split
            inputs: {cohort: cohort.cohort}
            params: {train: 2}
        """
        let first = try await engine.run(engine.load(yaml: yaml))
        XCTAssertTrue(first.succeeded, "\(first.stages.compactMap(\.error))")
        XCTAssertEqual(first.ranCount, 2)
        let cohort = try Cohort(directory: CohortFixture.output(engine, first, "cohort", "cohort"))
        XCTAssertEqual(cohort.ids.count, 3)
        XCTAssertEqual(cohort.numParticles, 48)
        XCTAssertEqual(cohort.source, "femur-cohort seed 1")
        XCTAssertEqual(try Cohort(directory: CohortFixture.output(engine, first, "split", "train")).ids, Array(cohort.ids.prefix(2)))
        XCTAssertEqual(try Cohort(directory: CohortFixture.output(engine, first, "split", "test")).ids, [cohort.ids[2]])
        let range = try cohort.metadata().intensity_range
        XCTAssertLessThan(range[0], 0)
        XCTAssertGreaterThan(range[1], 600) // bone, blurred at 4 mm voxels
        // `ssmflow cache show` through the inspector the command line registers.
        let summary = try XCTUnwrap(CohortInspector().summary(of: cohort.directory))
        XCTAssertEqual(summary[0], "cohort: 3 subjects (\(cohort.ids[0]) … \(cohort.ids[2])), \(cohort.ids.filter { $0.hasSuffix("_L") }.count) left, \(cohort.ids.filter { $0.hasSuffix("_R") }.count) right")
        XCTAssertEqual(summary[1], "grid: \(cohort.dims.x) × \(cohort.dims.y) × \(cohort.dims.z) voxels, spacing 4 × 4 × 4 mm, origin (\(String(format: "%g", cohort.origin.x)), \(String(format: "%g", cohort.origin.y)), \(String(format: "%g", cohort.origin.z))) mm")
        XCTAssertEqual(summary[2], "particles: 48 per shape (local and world frames)")
        XCTAssertEqual(summary[3], String(format: "intensity range: %.1f … %.1f", range[0], range[1]))
        XCTAssertTrue(summary.contains { $0.contains("images  float32 [3, \(cohort.dims.z), \(cohort.dims.y), \(cohort.dims.x)]") }, "\(summary)")
        XCTAssertNil(try CohortInspector().summary(of: dir))
        let second = try await engine.run(engine.load(yaml: yaml))
        XCTAssertEqual(second.cachedCount, 2)
    }

    func test_reader_returnsWhatTheWriterWrote() throws {
        let g = try FemurCohortGenerator(CohortFixture.params(subjects: 2), threads: 2)
        let directory = try CohortFixture.temporaryDirectory(self).appendingPathComponent("cohort")
        try CohortFixture.write(g, to: directory)
        let cohort = try Cohort(directory: directory)
        XCTAssertEqual(cohort.ids, g.ids)
        XCTAssertEqual(cohort.grid, g.grid)
        let volumes = try g.volumes(1)
        XCTAssertEqual(try cohort.image(1), volumes.image)
        XCTAssertEqual(try cohort.distanceTransform(1), volumes.distance)
        XCTAssertEqual(try cohort.segmentation(1).voxels, volumes.segmentation.map(Float.init))
        XCTAssertEqual(try cohort.localParticles(1), g.localParticles[1])
        XCTAssertEqual(try cohort.worldParticles(1), g.alignment.world[1])
        XCTAssertEqual(try cohort.meanParticles(), g.meanParticles)
        XCTAssertEqual(try cohort.mesh(1).triangles.count, try g.mesh(of: volumes).triangles.count)
    }

    func test_reader_whenNotACohort_saysWhatToConnect() throws {
        let directory = try CohortFixture.temporaryDirectory(self)
        XCTAssertThrowsError(try Cohort(directory: directory)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("cannot read cohort metadata \(directory.path)/cohort.json"), message)
            XCTAssertTrue(message.hasSuffix("the directory is not a cohort artifact — connect the output of femur-cohort, shapeworks-femur or split"), message)
        }
    }

    func test_writer_whenParticleCountsDiffer_namesTheSubject() throws {
        let directory = try CohortFixture.temporaryDirectory(self).appendingPathComponent("cohort")
        let grid = CohortGrid(dims: SIMD3(4, 4, 4), spacing: .one, origin: .zero)
        let writer = try CohortWriter(directory: directory, ids: ["a"], grid: grid, numParticles: 3, source: "test")
        let image = ImageVolume(dims: grid.dims, fill: 0)
        let three = ParticleSet(points: [.zero, .one, SIMD3(1, 0, 0)]), two = ParticleSet(points: [.zero, .one])
        XCTAssertThrowsError(try writer.add(0, image: image, segmentation: [UInt8](repeating: 0, count: 64), distance: image,
                                            local: three, world: two, mesh: Mesh(points: [], triangles: []))) {
            XCTAssertEqual("\($0)", "subject a has 2 world particles where the cohort has 3; every shape needs the same particle count")
        }
    }
}
