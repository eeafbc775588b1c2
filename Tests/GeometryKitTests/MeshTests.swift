import Foundation
import XCTest
@testable import GeometryKit

final class MeshTests: XCTestCase {
    func test_contour_ofSphereDistanceField_hasAreaFourPiRSquared() throws {
        let r = 12.0
        let mesh = try VTKFixtures.sphere(radius: r)
        // Triangles are chords of the sphere, so the area is slightly low; 1 % is
        // about 20 times the chord error at this resolution.
        XCTAssertEqual(mesh.area, 4 * .pi * r * r, accuracy: 0.01 * 4 * .pi * r * r)
        XCTAssertEqual(mesh.volume, 4 / 3 * .pi * r * r * r, accuracy: 0.015 * 4 / 3 * .pi * r * r * r)
    }

    func test_contour_ofSphereDistanceField_putsEveryVertexAtRadius() throws {
        let r = 12.0
        let mesh = try VTKFixtures.sphere(radius: r)
        XCTAssertGreaterThan(mesh.points.count, 1000)
        let worst = mesh.points.map { abs(norm($0 - VTKFixtures.sphereCentre) - r) }.max()!
        // Linear interpolation of an exact distance field along grid edges.
        XCTAssertLessThan(worst, 0.05)
    }

    func test_contour_ofSegmentation_isInPhysicalCoordinates() throws {
        var image = VTKFixtures.sphereDistanceField(radius: 8, dims: [30, 30, 30], spacing: [0.5, 0.5, 0.5])
        image.voxels = image.voxels.map { $0 < 0 ? 1 : 0 }
        let mesh = try Mesh.contour(image, isovalue: 0.5)
        XCTAssertLessThan(norm(mesh.centroid - VTKFixtures.sphereCentre), 0.1)
        let radii = mesh.points.map { norm($0 - VTKFixtures.sphereCentre) }
        XCTAssertEqual(radii.reduce(0, +) / Double(radii.count), 8, accuracy: 0.25)
    }

    func test_contour_withoutSurface_throwsNamingIsovalue() throws {
        let image = ImageVolume(dims: [4, 4, 4], fill: 1)
        XCTAssertThrowsError(try Mesh.contour(image, isovalue: 0)) { error in
            XCTAssertTrue("\(error)".contains("no surface at isovalue 0"), "\(error)")
        }
    }

    func test_writeRead_legacyVTK_keepsPointsTrianglesAndArraysExactly() throws {
        var mesh = try VTKFixtures.sphere(radius: 6)
        mesh.pointArrays["Distance"] = mesh.points.map { $0.z * 0.5 }
        mesh.pointArrays["Other"] = mesh.points.map { $0.x }
        let url = try VTKFixtures.temporaryDirectory(self).appendingPathComponent("sphere.vtk")
        try mesh.write(to: url)
        let head = try String(decoding: Data(contentsOf: url).prefix(40), as: UTF8.self)
        XCTAssertTrue(head.hasPrefix("# vtk DataFile Version 4.2"), head)
        XCTAssertEqual(try Mesh.read(from: url), mesh)
    }

    func test_writeRead_vtp_keepsMeshExactly() throws {
        var mesh = try VTKFixtures.sphere(radius: 6)
        mesh.pointArrays["Distance"] = mesh.points.map { $0.y }
        let url = try VTKFixtures.temporaryDirectory(self).appendingPathComponent("sphere.vtp")
        try mesh.write(to: url)
        XCTAssertEqual(try Mesh.read(from: url), mesh)
    }

    func test_writeRead_plyAndSTL_keepGeometryInSinglePrecision() throws {
        let mesh = try VTKFixtures.sphere(radius: 6)
        let dir = try VTKFixtures.temporaryDirectory(self)
        for ext in ["ply", "stl"] {
            let url = dir.appendingPathComponent("sphere.\(ext)")
            try mesh.write(to: url)
            let back = try Mesh.read(from: url)
            XCTAssertEqual(back.triangles.count, mesh.triangles.count, ext)
            XCTAssertEqual(back.points.count, mesh.points.count, ext)
            XCTAssertEqual(back.area, mesh.area, accuracy: 1e-3, ext)
            let sortedA = mesh.points.map { [$0.x, $0.y, $0.z] }.sorted { $0.lexicographicallyPrecedes($1) }
            let sortedB = back.points.map { [$0.x, $0.y, $0.z] }.sorted { $0.lexicographicallyPrecedes($1) }
            let worst = zip(sortedA, sortedB).map { zip($0, $1).map { abs($0 - $1) }.max()! }.max()!
            XCTAssertLessThan(worst, 1e-5, ext)
        }
    }

    func test_write_sameMeshTwice_givesIdenticalBytes() throws {
        var mesh = try VTKFixtures.sphere(radius: 5)
        mesh.pointArrays["Distance"] = mesh.points.map(\.x)
        let dir = try VTKFixtures.temporaryDirectory(self)
        for ext in ["vtk", "ply", "stl"] {
            let a = dir.appendingPathComponent("a.\(ext)"), b = dir.appendingPathComponent("b.\(ext)")
            try mesh.write(to: a)
            try mesh.write(to: b)
            XCTAssertEqual(try Data(contentsOf: a), try Data(contentsOf: b), ext)
        }
    }

    func test_read_missingFile_throwsNamingThePath() {
        XCTAssertThrowsError(try Mesh.read(from: URL(fileURLWithPath: "/nonexistent/femur.vtk"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/femur.vtk"), "\(error)")
        }
    }

    func test_write_unknownExtension_throwsListingFormats() throws {
        let mesh = try VTKFixtures.sphere(radius: 5)
        let url = try VTKFixtures.temporaryDirectory(self).appendingPathComponent("sphere.xyz")
        XCTAssertThrowsError(try mesh.write(to: url)) { error in
            XCTAssertTrue("\(error)".contains("use .vtk, .vtp, .ply or .stl"), "\(error)")
        }
    }

    func test_init_triangleOutOfRange_throwsInsteadOfCrashing() throws {
        let mesh = Mesh(points: [[0, 0, 0], [1, 0, 0], [0, 1, 0]], triangles: [[0, 1, 5]])
        let url = try VTKFixtures.temporaryDirectory(self).appendingPathComponent("bad.vtk")
        XCTAssertThrowsError(try mesh.write(to: url)) { error in
            XCTAssertTrue("\(error)".contains("refers to vertex 5"), "\(error)")
        }
    }

    func test_smoothed_laplacian_shrinksSphereButWindowedSincBarely() throws {
        let mesh = try VTKFixtures.sphere(radius: 10)
        let laplacian = try mesh.smoothed(iterations: 100, relaxation: 0.5)
        let sinc = try mesh.smoothedWindowedSinc(iterations: 20, passBand: 0.1)
        XCTAssertEqual(laplacian.points.count, mesh.points.count)
        XCTAssertLessThan(laplacian.area, 0.97 * mesh.area)
        XCTAssertEqual(sinc.area, mesh.area, accuracy: 0.02 * mesh.area)
    }

    func test_decimated_removesRequestedShareOfTrianglesKeepingShape() throws {
        let mesh = try VTKFixtures.sphere(radius: 10)
        let coarse = try mesh.decimated(targetReduction: 0.75)
        XCTAssertEqual(Double(coarse.triangles.count), 0.25 * Double(mesh.triangles.count),
                       accuracy: 0.03 * Double(mesh.triangles.count))
        XCTAssertEqual(coarse.area, mesh.area, accuracy: 0.03 * mesh.area)
    }
}
