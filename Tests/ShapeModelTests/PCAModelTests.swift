import XCTest
import GeometryKit
@testable import ShapeModel

final class PCAModelTests: XCTestCase {
    /// Orthonormal vectors in R^dim by Gram–Schmidt of fixed, non-degenerate vectors.
    private func orthonormalModes(_ count: Int, dim: Int) -> [[Double]] {
        var modes: [[Double]] = []
        for k in 0..<count {
            var v = (0..<dim).map { sin(Double($0 * (k + 2)) + Double(k)) + 0.1 * Double(k) }
            for u in modes {
                let d = zip(u, v).reduce(0) { $0 + $1.0 * $1.1 }
                v = zip(v, u).map { $0 - d * $1 }
            }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            modes.append(v.map { $0 / norm })
        }
        return modes
    }

    /// Eight shapes of ten particles whose centred scores are orthogonal Walsh
    /// patterns scaled by `amplitudes`: the covariance eigenvalues are exactly
    /// a² · 8/7 and the modes are the chosen unit vectors.
    private func syntheticShapes(amplitudes: [Double] = [5, 3, 1]) -> (shapes: [ParticleSet], modes: [[Double]], mean: [Double]) {
        let walsh: [[Double]] = [[1, 1, 1, 1, -1, -1, -1, -1], [1, 1, -1, -1, 1, 1, -1, -1], [1, -1, 1, -1, 1, -1, 1, -1]]
        let dim = 30
        let modes = orthonormalModes(amplitudes.count, dim: dim)
        let mean = (0..<dim).map { Double($0 % 7) * 3.5 - 10 }
        let shapes = (0..<8).map { i -> ParticleSet in
            var flat = mean
            for k in amplitudes.indices { for r in 0..<dim { flat[r] += amplitudes[k] * walsh[k][i] * modes[k][r] } }
            return ParticleSet(flattened: flat)
        }
        return (shapes, modes, mean)
    }

    func test_fit_recoversKnownModesAndVariances() throws {
        let (shapes, modes, mean) = syntheticShapes()
        let model = try PCAModel.fit(shapes, numModes: 3)
        let n = model.modeCount
        XCTAssertEqual(n, 8)
        for (k, a) in [5.0, 3, 1].enumerated() {
            XCTAssertEqual(model.eigenvalues[k], a * a * 8 / 7, accuracy: 1e-6)
            let column = (0..<30).map { model.modes[$0 * n + k] }
            let sign: Double = zip(column, modes[k]).reduce(0) { $0 + $1.0 * $1.1 } < 0 ? -1 : 1
            for r in 0..<30 { XCTAssertEqual(sign * column[r], modes[k][r], accuracy: 1e-6) }
        }
        for k in 3..<8 { XCTAssertEqual(model.eigenvalues[k], 0, accuracy: 1e-9) }
        for r in 0..<30 { XCTAssertEqual(model.mean[r], mean[r], accuracy: 1e-12) }
    }

    func test_fit_withZeroDims_selectsModesForNinetyFivePercent() throws {
        // Variances ∝ 25, 9, 1: two modes keep 34/35 ≈ 97 %, one keeps 71 %.
        let model = try PCAModel.fit(syntheticShapes().shapes, numModes: 0, percentVariability: 0.95)
        XCTAssertEqual(model.numModes, 2)
        XCTAssertEqual(model.varianceKept, 34.0 / 35, accuracy: 1e-9)
    }

    func test_selectModes_countsTheModeThatReachesTheFraction() {
        XCTAssertEqual(PCAModel.selectModes([50, 30, 15, 4, 1], fraction: 0.95), 3)
        XCTAssertEqual(PCAModel.selectModes([50, 30, 14, 5, 1], fraction: 0.95), 4)
        XCTAssertEqual(PCAModel.selectModes([50, 30, 14, 5, 1], fraction: 0.5), 1)
    }

    func test_projectThenReconstruct_roundTripsShapesInTheModelSpan() throws {
        let (shapes, _, _) = syntheticShapes()
        let model = try PCAModel.fit(shapes, numModes: 3)
        for shape in shapes {
            let back = model.reconstruct(scores: model.project(shape))
            for (p, q) in zip(back.points, shape.points) { XCTAssertLessThan(((p - q) * (p - q)).sum().squareRoot(), 1e-9) }
        }
        let z = [1.5, -2.0, 0.25]
        let again = model.project(model.reconstruct(scores: z))
        for k in 0..<3 { XCTAssertEqual(again[k], z[k], accuracy: 1e-10) }
    }

    func test_fit_storesTrainingScoresAsRawProjections() throws {
        let (shapes, _, _) = syntheticShapes()
        let model = try PCAModel.fit(shapes, numModes: 3)
        XCTAssertEqual(model.scores.count, 8)
        // Scores on mode 1 are ±5 (Walsh pattern × amplitude), up to the mode's sign.
        for z in model.scores { XCTAssertEqual(abs(z[0]), 5, accuracy: 1e-9) }
    }

    func test_fit_withTooManyDims_failsWithFix() {
        XCTAssertThrowsError(try PCAModel.fit(syntheticShapes().shapes, numModes: 9)) { error in
            XCTAssertTrue("\(error)".contains("lower num_dim"), "\(error)")
        }
    }
}
