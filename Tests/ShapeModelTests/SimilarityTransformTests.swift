import XCTest
import GeometryKit
@testable import ShapeModel

final class SimilarityTransformTests: XCTestCase {
    private func rotation(axis: SIMD3<Double>, angle: Double) -> (SIMD3<Double>, SIMD3<Double>, SIMD3<Double>) {
        let u = axis / (axis * axis).sum().squareRoot(), c = cos(angle), s = sin(angle), t = 1 - c
        return (SIMD3(c + u.x * u.x * t, u.x * u.y * t - u.z * s, u.x * u.z * t + u.y * s),
                SIMD3(u.y * u.x * t + u.z * s, c + u.y * u.y * t, u.y * u.z * t - u.x * s),
                SIMD3(u.z * u.x * t - u.y * s, u.z * u.y * t + u.x * s, c + u.z * u.z * t))
    }

    func test_umeyama_recoversKnownSimilarity() {
        let source = (0..<20).map { i in SIMD3(sin(Double(i)) * 30, cos(Double(i) * 1.7) * 20, Double(i) - 10) }
        let truth = SimilarityTransform(rotation: rotation(axis: SIMD3(1, 2, 3), angle: 0.7),
                                        scale: 1.3, translation: SIMD3(5, -7, 11))
        let target = source.map(truth.apply)
        let fit = SimilarityTransform.umeyama(from: source, to: target)
        XCTAssertEqual(fit.scale, 1.3, accuracy: 1e-10)
        for (p, q) in zip(source, target) {
            XCTAssertLessThan(((fit.apply(p) - q) * (fit.apply(p) - q)).sum().squareRoot(), 1e-9)
        }
    }

    func test_inverse_undoesTransform() {
        let t = SimilarityTransform(rotation: rotation(axis: SIMD3(0, 1, 1), angle: -1.1), scale: 0.8, translation: SIMD3(1, 2, 3))
        let p = SIMD3(4.0, -5.0, 6.0)
        let back = t.inverse.apply(t.apply(p))
        XCTAssertLessThan(((back - p) * (back - p)).sum().squareRoot(), 1e-12)
    }

    func test_symmetricEigen_matchesHandComputedValues() {
        // [[2,1],[1,2]] has eigenvalues 3 and 1 with vectors (1,1)/√2 and (1,-1)/√2.
        let e = LinearAlgebra.symmetricEigen([2, 1, 1, 2], n: 2)
        XCTAssertEqual(e.values[0], 3, accuracy: 1e-14)
        XCTAssertEqual(e.values[1], 1, accuracy: 1e-14)
        XCTAssertEqual(abs(e.vectors[0]), 1 / 2.0.squareRoot(), accuracy: 1e-14)
        XCTAssertEqual(e.vectors[0] * e.vectors[2] + e.vectors[1] * e.vectors[3], 0, accuracy: 1e-14)
    }

    func test_solve_returnsExactSolution() throws {
        let x = try LinearAlgebra.solve([4, 3, 6, 3], n: 2, [10, 12], columns: 1)
        XCTAssertEqual(x[0], 1, accuracy: 1e-12)
        XCTAssertEqual(x[1], 2, accuracy: 1e-12)
    }

    func test_solve_singularSystem_throws() {
        XCTAssertThrowsError(try LinearAlgebra.solve([1, 2, 2, 4], n: 2, [1, 2], columns: 1))
    }
}
