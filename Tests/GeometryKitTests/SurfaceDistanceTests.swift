import Foundation
import XCTest
@testable import GeometryKit

final class SurfaceDistanceTests: XCTestCase {
    func test_concentricSpheres_areRadiusDifferenceApartEverywhere() throws {
        let outer = try VTKFixtures.sphere(radius: 12), inner = try VTKFixtures.sphere(radius: 8)
        let d = try SurfaceDistance(outer, inner)
        XCTAssertEqual(d.fromFirst.count, outer.points.count)
        XCTAssertEqual(d.fromSecond.count, inner.points.count)
        // Both meshes sit within 0.05 mm of their spheres (see MeshTests).
        for value in d.fromFirst + d.fromSecond { XCTAssertEqual(value, 4, accuracy: 0.1) }
        let s = d.summary
        XCTAssertEqual(s.meanSymmetric, 4, accuracy: 0.05)
        XCTAssertEqual(s.rms, 4, accuracy: 0.05)
        XCTAssertEqual(s.averageHausdorff, 4, accuracy: 0.1)
    }

    func test_pointToSurface_measuresToTrianglesNotVertices() throws {
        // One big triangle: a point above its interior is |z| away, although
        // every vertex is much further.
        let plane = Mesh(points: [[-100, -100, 0], [100, -100, 0], [0, 100, 0]], triangles: [[0, 1, 2]])
        let d = try SurfaceDistance.pointToSurface([[0, 0, 2.5], [0, 0, -1]], surface: plane)
        XCTAssertEqual(d[0], 2.5, accuracy: 1e-9)
        XCTAssertEqual(d[1], 1, accuracy: 1e-9)
    }

    func test_threads_doNotChangeTheResult() throws {
        let a = try VTKFixtures.sphere(radius: 12), b = try VTKFixtures.sphere(radius: 9, centre: [4, -6, 10])
        XCTAssertEqual(try SurfaceDistance(a, b, threads: 1), try SurfaceDistance(a, b, threads: 4))
    }

    func test_summary_ofKnownValues_matchesHandComputation() {
        let s = SurfaceDistance.Summary(fromFirst: [1, 2, 3], fromSecond: [4, 0])
        XCTAssertEqual(s.meanFirstToSecond, 2)
        XCTAssertEqual(s.meanSecondToFirst, 2)
        XCTAssertEqual(s.meanSymmetric, 2)
        XCTAssertEqual(s.rms, (30.0 / 5).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(s.hausdorffFirstToSecond, 3)
        XCTAssertEqual(s.hausdorffSecondToFirst, 4)
        XCTAssertEqual(s.averageHausdorff, 3.5)
        XCTAssertEqual(s.hausdorff, 4)
    }

    func test_annotated_attachesDistanceArrays() throws {
        let a = try VTKFixtures.sphere(radius: 10), b = try VTKFixtures.sphere(radius: 7)
        let d = try SurfaceDistance(a, b)
        let (ma, mb) = d.annotated(a, b)
        XCTAssertEqual(ma.pointArrays["Distance"], d.fromFirst)
        XCTAssertEqual(mb.pointArrays["Distance"], d.fromSecond)
    }

    func test_pointToSurface_emptySurface_throws() {
        let empty = Mesh(points: [[0, 0, 0]], triangles: [])
        XCTAssertThrowsError(try SurfaceDistance.pointToSurface([[1, 1, 1]], surface: empty)) { error in
            XCTAssertTrue("\(error)".contains("no triangles"), "\(error)")
        }
    }
}
