import Foundation
import XCTest
@testable import GeometryKit

/// Analytic shapes and scratch directories shared by the VTK-backed tests.
enum VTKFixtures {
    /// The exact signed distance to a sphere (negative inside) sampled on a
    /// grid whose physical frame is deliberately not the identity.
    static func sphereDistanceField(radius: Double, centre: SIMD3<Double> = [3, -7, 11],
                                    dims: SIMD3<Int> = [40, 40, 40],
                                    spacing: SIMD3<Double> = [1, 1, 1]) -> ImageVolume {
        let extent = SIMD3<Double>(dims &- 1) * spacing
        var image = ImageVolume(dims: dims, spacing: spacing, origin: centre - extent / 2)
        for z in 0..<dims.z {
            for y in 0..<dims.y {
                for x in 0..<dims.x {
                    let p = image.point(SIMD3(Double(x), Double(y), Double(z)))
                    let d = p - centre
                    image[x, y, z] = Float((d * d).sum().squareRoot() - radius)
                }
            }
        }
        return image
    }

    /// A triangulated sphere from the distance field at 0.
    static func sphere(radius: Double, centre: SIMD3<Double> = [3, -7, 11]) throws -> Mesh {
        try Mesh.contour(sphereDistanceField(radius: radius, centre: centre), isovalue: 0)
    }

    static let sphereCentre: SIMD3<Double> = [3, -7, 11]

    /// A fresh temporary directory, removed when the test ends; with
    /// `SSMFLOW_KEEP_TEST_OUTPUT=DIR` it is `DIR/<test name>` and kept, so a
    /// person can look at the rendered pictures.
    static func temporaryDirectory(_ test: XCTestCase) throws -> URL {
        if let keep = ProcessInfo.processInfo.environment["SSMFLOW_KEEP_TEST_OUTPUT"], !keep.isEmpty {
            let name = test.name.filter { $0.isLetter || $0.isNumber || $0 == "_" }
            let url = URL(fileURLWithPath: keep).appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return url
        }
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("ssmflow-geometry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

func norm(_ v: SIMD3<Double>) -> Double { (v * v).sum().squareRoot() }
