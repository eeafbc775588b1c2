import Foundation
import GeometryKit
import XCTest
@testable import Stages

final class ParticleAccuracyTests: XCTestCase {
    func test_share_isZeroAtTheMeanOneAtTheOracleAndLinearBetween() {
        XCTAssertEqual(ParticleAccuracy.share(mean: 3, prediction: 3, oracle: 1), 0)
        XCTAssertEqual(ParticleAccuracy.share(mean: 3, prediction: 1, oracle: 1), 1)
        XCTAssertEqual(ParticleAccuracy.share(mean: 2.73, prediction: 2.05, oracle: 1.38)!, 0.5037, accuracy: 1e-4)
        XCTAssertEqual(ParticleAccuracy.share(mean: 3, prediction: 4, oracle: 1), -0.5, "worse than the mean is negative")
        XCTAssertNil(ParticleAccuracy.share(mean: 1, prediction: 1, oracle: 1), "no room, no share")
    }

    func test_aggregate_usesTheMeansOverSubjects() throws {
        let accuracy = ParticleAccuracy(numModes: 6, subjects: [
            .init(id: "a", prediction: 2, meanShape: 3, oracle: 1),
            .init(id: "b", prediction: 2, meanShape: 5, oracle: 1),
        ])
        XCTAssertEqual(accuracy.prediction, 2)
        XCTAssertEqual(accuracy.meanShape, 4)
        XCTAssertEqual(accuracy.oracle, 1)
        XCTAssertEqual(accuracy.achievableGainShare!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(accuracy.sentence,
                       "particle RMSE 2.00 mm (mean shape 4.00 mm, PCA-6 oracle 1.00 mm); achievable gain share 0.67")
        let decoded = try JSONDecoder().decode(ParticleAccuracy.self, from: accuracy.encoded())
        XCTAssertEqual(decoded, accuracy)
        XCTAssertEqual(try accuracy.encoded(), try decoded.encoded(), "same numbers, same bytes")
    }

    func test_rmse_ofCorrespondingParticles() {
        let a = ParticleSet(points: [SIMD3(0, 0, 0), SIMD3(1, 0, 0)])
        let b = ParticleSet(points: [SIMD3(0, 0, 2), SIMD3(1, 0, 0)])
        XCTAssertEqual(ParticleAccuracy.rmse(a, b), 2.0.squareRoot(), accuracy: 1e-12)
    }
}
