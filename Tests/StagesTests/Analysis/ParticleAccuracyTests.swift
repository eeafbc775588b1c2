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

    func test_modes_areTheScoreErrorsAsParticleRMS_andWhatTheyExplain() throws {
        // Two subjects, M = 2 particles, K = 3 modes.
        let modes = ParticleAccuracy.modes(predicted: [[1, 0, 5], [3, 0, 0]], truth: [[2, 2, 0], [4, -2, 0]], numParticles: 2)
        XCTAssertEqual(modes.map(\.mode), [1, 2, 3])
        // Mode 1: errors −1, −1 → √(2 / 4); truth 2, 4 → √(20 / 4).
        XCTAssertEqual(modes[0].prediction, 0.5.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(modes[0].meanShape, 5.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(modes[0].explained!, 0.9, accuracy: 1e-12)
        // Mode 2 predicted at the mean: explains nothing.
        XCTAssertEqual(modes[1].explained!, 0, accuracy: 1e-12)
        // Mode 3: the subjects do not vary along it; a prediction off it is an error with nothing to explain.
        XCTAssertEqual(modes[2].prediction, (25.0 / 4).squareRoot(), accuracy: 1e-12)
        XCTAssertNil(modes[2].explained)

        let accuracy = ParticleAccuracy(numModes: 3, subjects: [.init(id: "a", prediction: 2, meanShape: 3, oracle: 1)],
                                        modes: modes)
        XCTAssertEqual(accuracy.modeSentence,
                       "per mode, the share of the subjects' variance the prediction explains (prediction / mean shape RMS): "
                       + "1: 0.90 (0.71 / 2.24 mm), 2: 0.00 (1.41 / 1.41 mm), 3: – (2.50 / 0.00 mm)")
        let decoded = try JSONDecoder().decode(ParticleAccuracy.self, from: accuracy.encoded())
        XCTAssertEqual(decoded, accuracy)
        // accuracy.json written before per-mode errors existed still reads.
        let old = try JSONDecoder().decode(ParticleAccuracy.self, from: Data(#"{"num_modes": 6, "subjects": []}"#.utf8))
        XCTAssertNil(old.modes)
        XCTAssertNil(old.modeSentence)
    }

    func test_rmse_ofCorrespondingParticles() {
        let a = ParticleSet(points: [SIMD3(0, 0, 0), SIMD3(1, 0, 0)])
        let b = ParticleSet(points: [SIMD3(0, 0, 2), SIMD3(1, 0, 0)])
        XCTAssertEqual(ParticleAccuracy.rmse(a, b), 2.0.squareRoot(), accuracy: 1e-12)
    }
}
