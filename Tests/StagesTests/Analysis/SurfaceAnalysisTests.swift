import Foundation
import XCTest
import GeometryKit
@testable import Stages
@testable import ShapeModel

/// Spheres stand in for femurs: their surfaces and distances are known exactly.
enum AnalysisFixtures {
    static let centre: SIMD3<Double> = [2, -3, 5]

    /// A sphere surface from the exact signed distance field at 0.
    static func sphere(radius: Double, centre: SIMD3<Double> = centre) throws -> Mesh {
        try Mesh.contour(distanceField(radius: radius, centre: centre), isovalue: 0)
    }

    static func distanceField(radius: Double, centre: SIMD3<Double> = centre) -> ImageVolume {
        let dims = SIMD3(36, 36, 36)
        var image = ImageVolume(dims: dims, origin: centre - 17.5)
        for z in 0..<dims.z { for y in 0..<dims.y { for x in 0..<dims.x {
            let d = image.point(SIMD3(Double(x), Double(y), Double(z))) - centre
            image[x, y, z] = Float((d * d).sum().squareRoot() - radius)
        } } }
        return image
    }

    /// `count` particles spread evenly on a sphere (Fibonacci lattice).
    static func particles(radius: Double, count: Int = 128, centre: SIMD3<Double> = centre) -> ParticleSet {
        ParticleSet(points: (0..<count).map { i in
            let z = 1 - 2 * (Double(i) + 0.5) / Double(count)
            let rho = (1 - z * z).squareRoot(), phi = Double(i) * .pi * (3 - 5.0.squareRoot())
            return centre + radius * SIMD3(rho * cos(phi), rho * sin(phi), z)
        })
    }

    static func scaled(_ set: ParticleSet, by factor: Double, about c: SIMD3<Double> = centre) -> ParticleSet {
        ParticleSet(points: set.points.map { c + factor * ($0 - c) })
    }

    static func analysis(meanRadius: Double = 10, kernel: MeshWarp.Kernel = .thinPlate) throws -> SurfaceAnalysis {
        SurfaceAnalysis(meanMesh: try sphere(radius: meanRadius), meanParticles: particles(radius: meanRadius),
                        kernel: kernel)
    }
}

final class SurfaceAnalysisTests: XCTestCase {
    func test_analyze_sphereAgainstScaledSphere_givesRadiusDifference() throws {
        // The prediction is the mean sphere scaled by 1.2: an affine map, which
        // the warp reproduces exactly, so the predicted surface is a sphere of 12.
        let analysis = try AnalysisFixtures.analysis()
        let original = try AnalysisFixtures.sphere(radius: 10)
        let predicted = AnalysisFixtures.scaled(analysis.meanParticles, by: 1.2)
        let result = try analysis.analyze(id: "s1", original: original, predictedLocal: predicted,
                                          predictedWorld: predicted)
        let s = result.row.predicted
        XCTAssertEqual(s.meanSymmetric, 2, accuracy: 0.05)
        XCTAssertEqual(s.rms, 2, accuracy: 0.05)
        XCTAssertEqual(s.hausdorffFirstToSecond, 2, accuracy: 0.1)
        XCTAssertEqual(s.hausdorffSecondToFirst, 2, accuracy: 0.1)
        XCTAssertEqual(s.averageHausdorff, 2, accuracy: 0.1)
        for d in result.predicted.pointArrays["Distance"]! { XCTAssertEqual(d, 2, accuracy: 0.1) }
    }

    func test_warp_meanParticlesOntoThemselves_returnsTheMeanMesh() throws {
        for kernel in [MeshWarp.Kernel.thinPlate, .wendland(support: nil)] {
            let analysis = try AnalysisFixtures.analysis(kernel: kernel)
            let warp = try MeshWarp.fit(kernel, from: analysis.meanParticles, to: analysis.meanParticles)
            let warped = MeshWarp.apply(warp, to: analysis.meanMesh)
            XCTAssertEqual(warped.triangles, analysis.meanMesh.triangles)
            let worst = zip(warped.points, analysis.meanMesh.points).map { norm($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-8, "\(kernel)")
        }
    }

    func test_analyze_wendlandKernel_givesTheSameAffineAnswer() throws {
        let analysis = try AnalysisFixtures.analysis(kernel: .wendland(support: nil))
        let predicted = AnalysisFixtures.scaled(analysis.meanParticles, by: 1.2)
        let result = try analysis.analyze(id: "s1", original: try AnalysisFixtures.sphere(radius: 10),
                                          predictedLocal: predicted, predictedWorld: predicted)
        XCTAssertEqual(result.row.predicted.meanSymmetric, 2, accuracy: 0.05)
    }

    func test_baselineRow_equalsTheMeanShapesDistanceInTheSubjectsFrame() throws {
        // World prediction: a sphere of 11 (an "amplitude" the network found);
        // local frame: shifted and scaled by a similarity the baseline must reuse.
        let analysis = try AnalysisFixtures.analysis()
        let original = try AnalysisFixtures.sphere(radius: 13, centre: AnalysisFixtures.centre + [1, 0, 0])
        let world = AnalysisFixtures.scaled(analysis.meanParticles, by: 1.1)
        let shift: SIMD3<Double> = [1, 0, 0]
        let local = ParticleSet(points: AnalysisFixtures.scaled(world, by: 1.15).points.map { $0 + shift })
        let result = try analysis.analyze(id: "s2", original: original, predictedLocal: local, predictedWorld: world)

        var meanInFrame = analysis.meanMesh
        meanInFrame.points = meanInFrame.points.map {
            AnalysisFixtures.centre + shift + 1.15 * ($0 - AnalysisFixtures.centre)
        }
        let expected = try SurfaceDistance(original, meanInFrame).summary
        XCTAssertEqual(result.row.baseline.meanSymmetric, expected.meanSymmetric, accuracy: 1e-6)
        XCTAssertEqual(result.row.baseline.hausdorff, expected.hausdorff, accuracy: 1e-6)
        // Mean radius 10 × 1.15 = 11.5 vs 13; prediction 10 × 1.1 × 1.15 = 12.65 vs 13.
        XCTAssertEqual(result.row.baseline.meanSymmetric, 1.5, accuracy: 0.06)
        XCTAssertEqual(result.row.predicted.meanSymmetric, 0.35, accuracy: 0.06)
    }

    func test_predictionEqualToTheMeanShape_matchesTheBaseline() throws {
        let analysis = try AnalysisFixtures.analysis()
        let original = try AnalysisFixtures.sphere(radius: 12)
        let local = ParticleSet(points: analysis.meanParticles.points.map { $0 + [0.5, 0, 0] })
        let result = try analysis.analyze(id: "s3", original: original, predictedLocal: local,
                                          predictedWorld: analysis.meanParticles)
        XCTAssertEqual(result.row.predicted.meanSymmetric, result.row.baseline.meanSymmetric, accuracy: 1e-6)
        XCTAssertEqual(result.row.predicted.hausdorff, result.row.baseline.hausdorff, accuracy: 1e-6)
    }

    func test_warp_particleCountMismatch_throwsNamingBothCounts() throws {
        let analysis = try AnalysisFixtures.analysis()
        XCTAssertThrowsError(try MeshWarp.fit(analysis.kernel, from: analysis.meanParticles,
                                              to: AnalysisFixtures.particles(radius: 10, count: 64))) { error in
            XCTAssertTrue("\(error)".contains("128 particles but the target has 64"), "\(error)")
        }
    }

    func test_wendland_interpolatesLandmarksAndIsAffineFarAway() throws {
        let source = AnalysisFixtures.particles(radius: 10, count: 64)
        var target = source.points
        target[5] += [0.7, -0.2, 0.4]
        let warp = try WendlandSpline(from: source.points, to: target, support: 8)
        for (p, q) in zip(source.points, target) { XCTAssertLessThan(norm(warp(p) - q), 1e-8) }
        // 100 mm away no basis function reaches: only the (near-identity) affine part acts.
        let far = AnalysisFixtures.centre + [100, 0, 0]
        XCTAssertLessThan(norm(warp(far) - far), 2.0)
    }
}

private func norm(_ v: SIMD3<Double>) -> Double { (v * v).sum().squareRoot() }
