import Foundation
import XCTest
import GeometryKit
@testable import Stages

/// Times the analysis of 10 full-size subjects (femur-sized ellipsoids on the
/// groomed femur grid, 105 × 128 × 137 at 1 mm, 1024 particles).
/// Run with `SSMFLOW_BENCH=1`; skipped otherwise.
final class AnalysisBenchmarkTests: XCTestCase {
    func test_benchmark_tenFullSizeSubjects() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["SSMFLOW_BENCH"] != nil, "set SSMFLOW_BENCH=1")
        let dims = SIMD3(105, 128, 137)
        let centre = SIMD3<Double>(52, 64, 68)
        let axes = SIMD3<Double>(30, 24, 58)
        func field(_ scale: Double) -> ImageVolume {
            var image = ImageVolume(dims: dims)
            let a = axes * scale
            for z in 0..<dims.z { for y in 0..<dims.y { for x in 0..<dims.x {
                let q = (SIMD3(Double(x), Double(y), Double(z)) - centre) / a
                image[x, y, z] = Float(((q * q).sum().squareRoot() - 1) * a.min())
            } } }
            return image
        }
        let particles = ParticleSet(points: (0..<1024).map { i in
            let z = 1 - 2 * (Double(i) + 0.5) / 1024, rho = (1 - z * z).squareRoot()
            let phi = Double(i) * .pi * (3 - 5.0.squareRoot())
            return centre + axes * SIMD3(rho * cos(phi), rho * sin(phi), z)
        })
        let meanMesh = try Mesh.contour(field(1), isovalue: 0)
        let surfaces = SurfaceAnalysis(meanMesh: meanMesh, meanParticles: particles, kernel: .thinPlate)
        let subjects = (0..<10).map { i -> TestSetAnalysis.Subject in
            let s = 0.95 + 0.01 * Double(i)
            let local = ParticleSet(points: particles.points.map { p in
                centre + (p - centre) * s + SIMD3(sin(p.z / 9), cos(p.x / 7), 0) * 1.5
            })
            return TestSetAnalysis.Subject(id: "s\(i)", distanceTransform: field(s), predictedLocal: local,
                                           predictedWorld: particles)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ssmflow-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = TestSetAnalysis.Outputs(table: dir.appendingPathComponent("d.csv"), summary: dir.appendingPathComponent("s.json"),
                                          meshes: dir.appendingPathComponent("meshes"), heatmaps: dir.appendingPathComponent("heatmaps"))
        let start = Date()
        var last = start
        let table = try TestSetAnalysis(surfaces: surfaces).run(count: subjects.count, load: { subjects[$0] }, outputs: out) { done, total, message in
            print(String(format: "  %2d/%d %6.2f s  %@", done, total, Date().timeIntervalSince(last), message))
            last = Date()
        }
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "analysis of 10 full-size subjects (%d mean-mesh vertices): %.1f s", meanMesh.points.count, seconds))
        print(table.sentence())
    }
}
