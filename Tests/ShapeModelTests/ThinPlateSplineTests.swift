import XCTest
@testable import ShapeModel

final class ThinPlateSplineTests: XCTestCase {
    private func landmarks(_ n: Int, seed: UInt64) -> [SIMD3<Double>] {
        var random = SampleRandom(seed: seed, index: 0)
        return (0..<n).map { _ in SIMD3(random.uniform() * 40, random.uniform() * 50, random.uniform() * 30) }
    }

    private func distance(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double { ((a - b) * (a - b)).sum().squareRoot() }

    func test_spline_interpolatesItsLandmarksExactly() throws {
        let source = landmarks(60, seed: 1)
        var random = SampleRandom(seed: 2, index: 0)
        let target = source.map { $0 + SIMD3(random.normal(), random.normal(), random.normal()) * 2 }
        let spline = try ThinPlateSpline(from: source, to: target)
        for (s, t) in zip(source, target) { XCTAssertLessThan(distance(spline(s), t), 1e-8) }
    }

    func test_spline_reproducesAnAffineMapEverywhere() throws {
        let source = landmarks(40, seed: 3)
        let map = { (p: SIMD3<Double>) in
            SIMD3(1.1 * p.x + 0.2 * p.y - 0.1 * p.z + 3, -0.3 * p.x + 0.9 * p.y + 0.05 * p.z - 7, 0.1 * p.x + 1.2 * p.z + 0.5)
        }
        let spline = try ThinPlateSpline(from: source, to: source.map(map))
        for p in landmarks(25, seed: 4) + [SIMD3(-20, 80, 100)] {
            XCTAssertLessThan(distance(spline(p), map(p)), 1e-8)
        }
    }

    func test_fastEvaluation_agreesWithDoublePrecision() throws {
        let source = landmarks(512, seed: 6)
        var random = SampleRandom(seed: 7, index: 0)
        let spline = try ThinPlateSpline(from: source, to: source.map { $0 + SIMD3(random.normal(), random.normal(), random.normal()) * 0.5 })
        for p in landmarks(50, seed: 8) { XCTAssertLessThan(distance(spline.fast(p), spline(p)), 1e-3) }
    }

    func test_spline_withCoincidentLandmarks_throws() {
        let source = landmarks(10, seed: 5)
        XCTAssertThrowsError(try ThinPlateSpline(from: source + [source[0]], to: source + [source[0]]))
    }
}
