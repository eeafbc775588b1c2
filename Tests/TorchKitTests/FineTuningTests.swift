import XCTest
@testable import TorchKit

/// The fixed linear decoder and fine-tuning on particles through it.
final class FineTuningTests: XCTestCase {
    // Two scores → six particle values (two 3-D points), full rank.
    private let weight: [Float] = [1, 0, 0, 1, 2, 0, 0, -1, 0.5, 0.5, 1, 1]
    private let bias: [Float] = [10, -4, 3, 0, 1, 2]

    private func particles(for targets: [Float]) -> [Float] {
        stride(from: 0, to: targets.count, by: 2).flatMap { s -> [Float] in
            (0..<6).map { r in bias[r] + weight[r * 2] * targets[s] + weight[r * 2 + 1] * targets[s + 1] }
        }
    }

    private func tensor(_ name: String, of net: DeepSSMNetwork) throws -> [Float] {
        guard case .float32(let values) = try net.stateDict().first(where: { $0.name == name })?.values else {
            XCTFail("no float32 entry \(name)")
            return []
        }
        return values
    }

    func test_trainParticlesBatch_withoutDecoder_failsSayingSo() throws {
        let data = TinyRegression(batch: 1, seed: 1)
        let net = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 1)
        XCTAssertEqual(net.decoderSize, 0)
        XCTAssertThrowsError(try net.trainParticlesBatch(images: data.images, shape: TinyRegression.shape,
                                                         particles: particles(for: data.targets))) { error in
            XCTAssertTrue("\(error)".contains("no PCA decoder is installed"), "\(error)")
        }
    }

    func test_setDecoder_wrongSizes_throw() throws {
        let net = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 1)
        XCTAssertThrowsError(try net.setDecoder(weight: [1, 2, 3], bias: [0, 0]))
        try net.setDecoder(weight: weight, bias: bias)
        XCTAssertEqual(net.decoderSize, 6)
        let data = TinyRegression(batch: 1, seed: 1)
        XCTAssertThrowsError(try net.trainParticlesBatch(images: data.images, shape: TinyRegression.shape,
                                                         particles: [0, 0, 0])) { error in
            XCTAssertTrue("\(error)".contains("6 particle values each"), "\(error)")
        }
        XCTAssertThrowsError(try net.setDecoder(weight: weight.map { _ in .nan }, bias: bias)) { error in
            XCTAssertTrue("\(error)".contains("NaN"), "\(error)")
        }
    }

    /// The reference's fine-tuning stepped an optimizer that held none of the
    /// trained parameters, so the network never changed; here every layer moves
    /// and the particle loss falls.
    func test_trainParticlesBatch_updatesEveryLayerAndLossFalls() throws {
        let data = TinyRegression(batch: 2, seed: 7)
        let net = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 3, learningRate: 1e-3)
        try net.setDecoder(weight: weight, bias: bias)
        try net.resetOptimizer(learningRate: 1e-3)
        let before = try ["conv1.weight", "conv5.weight", "fc1.weight", "fc3.weight", "fc3.bias"].map { try tensor($0, of: net) }
        let target = particles(for: data.targets)
        var losses: [Double] = []
        for _ in 0..<6 {
            losses.append(try net.trainParticlesBatch(images: data.images, shape: TinyRegression.shape, particles: target))
        }
        XCTAssertTrue(losses.allSatisfy { $0.isFinite })
        XCTAssertLessThan(losses.suffix(2).reduce(0, +) / 2, 0.5 * losses[0], "losses \(losses)")
        let after = try ["conv1.weight", "conv5.weight", "fc1.weight", "fc3.weight", "fc3.bias"].map { try tensor($0, of: net) }
        for (b, a) in zip(before, after) { XCTAssertNotEqual(b, a) }
        // The decoder is fixed and not part of the state: the checkpoint format is unchanged.
        XCTAssertFalse(try net.stateDict().contains { $0.name.contains("decoder") })
        XCTAssertEqual(net.decoderSize, 6)
    }

    func test_resetOptimizer_startsAdamAfresh() throws {
        let data = TinyRegression(batch: 1, seed: 2)
        let net = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 3, learningRate: 1e-3)
        _ = try net.trainBatch(images: data.images, shape: TinyRegression.shape, targets: data.targets)
        XCTAssertTrue(try net.stateDict().contains { $0.name.hasPrefix("optimizer/") })
        try net.resetOptimizer(learningRate: 5e-4)
        XCTAssertFalse(try net.stateDict().contains { $0.name.hasPrefix("optimizer/") })
        XCTAssertEqual(net.learningRate, 5e-4)
        XCTAssertThrowsError(try net.resetOptimizer(learningRate: 0))
    }
}
