import Foundation
import GeometryKit
import Workflow
import XCTest
@testable import Stages

final class FemurCohortTests: XCTestCase {
    /// The tiny 3-subject cohort's shapes, built once for the class (the generator is a pure value).
    nonisolated(unsafe) private static var shared: FemurCohortGenerator?

    private func generator() throws -> FemurCohortGenerator {
        if Self.shared == nil { Self.shared = try FemurCohortGenerator(CohortFixture.params(subjects: 3), threads: 2) }
        return Self.shared!
    }

    func test_run_twice_givesIdenticalArtifacts() async throws {
        let dir = try CohortFixture.temporaryDirectory(self)
        func yaml(seed: Int) -> String {
            """
            workflow: cohort
            stages:
              cohort:
                uses: femur-cohort
                params: {subjects: 2, particles: 48, voxel_size: 4, margin: 4, seed: \(seed)}
            """
        }
        var digests: [String] = []
        for (cache, seed) in [("a", 3), ("b", 3)] {
            let engine = try CohortFixture.engine(dir.appendingPathComponent(cache))
            let run = try await engine.run(engine.load(yaml: yaml(seed: seed)))
            XCTAssertTrue(run.succeeded, "\(run.stages.map { $0.error ?? "" })")
            let key = try XCTUnwrap(run["cohort"]?.key)
            digests.append(try XCTUnwrap(engine.store.record(key)?.outputs["cohort"]?.digest.hex))
        }
        XCTAssertEqual(digests[0], digests[1], "same parameters must give the same bytes")
    }

    func test_anotherSeed_givesOtherSubjects() throws {
        let other = try FemurCohortGenerator(CohortFixture.params(subjects: 3, seed: 8))
        XCTAssertNotEqual(other.shapes.map(\.anatomy), try generator().shapes.map(\.anatomy))
    }

    func test_subjects_doNotDependOnCohortSize() throws {
        // Subject i has its own random stream: growing the cohort keeps the first ones.
        let small = try FemurCohortGenerator(CohortFixture.params(subjects: 2), threads: 2), large = try generator()
        XCTAssertEqual(small.shapes.map(\.anatomy), Array(large.shapes.map(\.anatomy).prefix(2)))
        XCTAssertEqual(small.ids, Array(large.ids.prefix(2)))
    }

    func test_particle_atTopOfHead_landsOnEachSubjectsHeadApex() throws {
        let g = try generator()
        // The template particle nearest the head's apex (along the neck axis).
        let apex = g.template.headCentre + g.template.anatomy.headRadius * g.template.neckAxis
        let index = g.templateParticles.indices.min {
            length3(g.templateParticles[$0] - apex) < length3(g.templateParticles[$1] - apex)
        }!
        for (i, shape) in g.shapes.enumerated() {
            let expected = g.poses[i].apply(shape.headCentre + shape.anatomy.headRadius * shape.neckAxis)
            let particle = g.localParticles[i].points[index]
            // The template's own offset from the apex, plus surface bumps: well
            // under the particle spacing (about 15 mm here).
            XCTAssertLessThan(length3(particle - expected), length3(g.templateParticles[index] - apex) + 2.0,
                              "subject \(g.ids[i])")
        }
        // The test discriminates: the subjects' apexes lie apart by more than the tolerance.
        let apexes = g.shapes.indices.map { g.poses[$0].apply(g.shapes[$0].headCentre + g.shapes[$0].anatomy.headRadius * g.shapes[$0].neckAxis) }
        XCTAssertGreaterThan(apexes.indices.dropFirst().map { length3(apexes[$0] - apexes[0]) }.max()!, 2.5)
    }

    func test_particle_atLesserTrochanterTip_followsTheTrochanter() throws {
        let g = try generator()
        func tip(_ s: FemurShape) -> SIMD3<Double> {
            s.lesserTrochanter.centre + s.lesserTrochanter.frame.x * s.lesserTrochanter.axes.x
        }
        let index = g.templateParticles.indices.min {
            length3(g.templateParticles[$0] - tip(g.template)) < length3(g.templateParticles[$1] - tip(g.template))
        }!
        let offset = length3(g.templateParticles[index] - tip(g.template))
        for (i, shape) in g.shapes.enumerated() {
            XCTAssertLessThan(length3(g.localParticles[i].points[index] - g.poses[i].apply(tip(shape))), offset + 3.0,
                              "subject \(g.ids[i])")
        }
    }

    func test_particles_lieOnTheMesh_withinHalfAVoxel() throws {
        let g = try generator()
        for i in 0..<2 {
            let mesh = try g.mesh(of: try g.volumes(i))
            let distances = try SurfaceDistance.pointToSurface(g.localParticles[i].points, surface: mesh)
            XCTAssertLessThanOrEqual(distances.max()!, 0.5 * g.params.voxel_size, "subject \(g.ids[i])")
        }
    }

    func test_segmentation_distanceTransform_andMesh_agree() throws {
        let g = try generator()
        let v = try g.volumes(0)
        // The segmentation is exactly the inside of the distance transform.
        for i in 0..<v.segmentation.count {
            XCTAssertEqual(v.segmentation[i] == 1, v.distance.voxels[i] < 0, "voxel \(i)")
            if (v.segmentation[i] == 1) != (v.distance.voxels[i] < 0) { break }
        }
        // Mesh vertices lie on the distance transform's zero level...
        let mesh = try g.mesh(of: v)
        let worst = mesh.points.map { abs(CohortFixture.trilinear(v.distance, $0)) }.max()!
        XCTAssertLessThan(worst, 0.02 * g.params.voxel_size)
        // ...and enclose the segmented volume (voxel count × voxel volume) within 5 %.
        let voxels = Double(v.segmentation.reduce(0) { $0 + Int($1) }) * pow(g.params.voxel_size, 3)
        XCTAssertEqual(abs(mesh.volume), voxels, accuracy: 0.05 * voxels)
        // Distances far from the surface are Euclidean: deep inside the head and far
        // outside the bone they match the distance to the mesh within a voxel.
        let head = g.poses[0].apply(g.shapes[0].headCentre)
        let outside = g.poses[0].apply(SIMD3(25, 0, -60)) // lateral to the shaft
        let toMesh = try SurfaceDistance.pointToSurface([head, outside], surface: mesh)
        XCTAssertGreaterThan(toMesh[0], 10)
        XCTAssertGreaterThan(toMesh[1], 5)
        XCTAssertEqual(-CohortFixture.trilinear(v.distance, head), toMesh[0], accuracy: g.params.voxel_size)
        XCTAssertEqual(CohortFixture.trilinear(v.distance, outside), toMesh[1], accuracy: g.params.voxel_size)
    }

    func test_worldParticles_areASimilarityOfTheLocalOnes() throws {
        let g = try generator()
        for i in g.ids.indices {
            let t = g.alignment.worldToLocal[i]
            let residual = zip(t.apply(g.alignment.world[i]).points, g.localParticles[i].points).map { length3($0 - $1) }.max()!
            XCTAssertLessThan(residual, 1e-6)
        }
        // World shapes are centred on the origin.
        let centroid = g.meanParticles.points.reduce(.zero, +) / Double(g.params.particles)
        XCTAssertLessThan(length3(centroid), 1e-6)
    }

    func test_meanMesh_passesThroughTheMeanParticles() throws {
        let g = try generator()
        let mesh = try g.meanMesh()
        let distances = try SurfaceDistance.pointToSurface(g.meanParticles.points, surface: mesh)
        XCTAssertLessThan(distances.max()!, 1.0)
    }

    func test_image_hasBoneBrighterThanSoftTissue_andNoiseAtTheRequestedLevel() throws {
        let g = try generator()
        let v = try g.volumes(0)
        var bone: [Float] = [], deepTissue: [Float] = []
        for i in 0..<v.segmentation.count {
            if v.distance.voxels[i] < -1.0 && v.distance.voxels[i] > -3.0 { bone.append(v.image.voxels[i]) }
            if v.distance.voxels[i] > 15 && v.image.voxels[i] < 400 { deepTissue.append(v.image.voxels[i]) }
        }
        let mean = { (a: [Float]) in Double(a.reduce(0, +)) / Double(a.count) }
        XCTAssertGreaterThan(mean(bone), 600)
        XCTAssertEqual(mean(deepTissue), Double(CohortImageSynthesis.softTissue), accuracy: 15)
    }

    func test_leftFraction_setsTheSideInTheIds() throws {
        var p = CohortFixture.params(subjects: 4)
        p.particles = 16
        p.left_fraction = 0
        XCTAssertTrue(try FemurCohortGenerator(p).ids.allSatisfy { $0.hasSuffix("_R") })
        p.left_fraction = 1
        XCTAssertEqual(try FemurCohortGenerator(p).ids, ["f001_L", "f002_L", "f003_L", "f004_L"])
    }

    func test_validate_reportsEveryBadParameterAtOnce() {
        var p = FemurCohort.Params()
        p.subjects = 0
        p.left_fraction = 1.5
        p.voxel_size = 0
        XCTAssertEqual(p.validate().map(\.parameter), ["subjects", "voxel_size", "left_fraction"])
        XCTAssertEqual(p.validate().first?.message, "must be at least 1, got 0")
        XCTAssertThrowsError(try FemurCohortGenerator(p)) { error in
            XCTAssertEqual("\(error)", "femur-cohort parameter 'subjects': must be at least 1, got 0")
        }
    }
}
