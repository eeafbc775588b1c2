import XCTest
@testable import TorchKit

/// Precise batch norm (`accumulateBatchNormStatistics`): known running
/// statistics of the first batch-norm layer for constant images, equal-weight
/// averaging over calls, weights untouched, training's momentum restored.
final class BatchNormStatisticsTests: XCTestCase {
    private let shape = TinyRegression.shape
    /// Voxels of conv1's output per image (5³ kernel, no padding).
    private var outputVoxels: Double { Double((shape.depth - 4) * (shape.height - 4) * (shape.width - 4)) }

    private func constantImages(_ values: [Float]) -> [Float] {
        values.flatMap { [Float](repeating: $0, count: shape.voxelCount) }
    }

    private func entry(_ name: String, of net: DeepSSMNetwork) throws -> [Double] {
        guard case .float32(let v)? = try net.stateDict().first(where: { $0.name == name })?.values else {
            XCTFail("no float entry \(name)")
            return []
        }
        return v.map(Double.init)
    }

    /// Σ of each output channel's conv1 weights: conv1(constant v) = v Σw (biases are zero).
    private func weightSums(_ net: DeepSSMNetwork) throws -> [Double] {
        let w = try entry("conv1.weight", of: net)
        let perChannel = w.count / 12
        return (0..<12).map { c in w[(c * perChannel)..<((c + 1) * perChannel)].reduce(0, +) }
    }

    func test_constantImages_runningStatisticsAreTheBatchStatistics() throws {
        let net = try DeepSSMNetwork(inputShape: shape, outputCount: 2, seed: 5)
        let sums = try weightSums(net)
        try net.accumulateBatchNormStatistics(images: constantImages([0.5, -1.5]), shape: shape, reset: true)
        let mean = try entry("bn1.running_mean", of: net)
        let variance = try entry("bn1.running_var", of: net)
        // Half the voxels at 0.5 Σw, half at −1.5 Σw; unbiased variance over 2 × 56³ values.
        let n = 2 * outputVoxels
        for c in 0..<12 {
            XCTAssertEqual(mean[c], sums[c] * -0.5, accuracy: 1e-5 * max(1, abs(sums[c])), "channel \(c)")
            XCTAssertEqual(variance[c], sums[c] * sums[c] * n / (n - 1), accuracy: 1e-4 * max(1, sums[c] * sums[c]),
                           "channel \(c)")
        }
    }

    func test_calls_areAveragedWithEqualWeight_andResetStartsAgain() throws {
        let net = try DeepSSMNetwork(inputShape: shape, outputCount: 2, seed: 5)
        let sums = try weightSums(net)
        try net.accumulateBatchNormStatistics(images: constantImages([1, 1]), shape: shape, reset: true)
        try net.accumulateBatchNormStatistics(images: constantImages([2, 2]), shape: shape, reset: false)
        try net.accumulateBatchNormStatistics(images: constantImages([6, 6]), shape: shape, reset: false)
        var mean = try entry("bn1.running_mean", of: net)
        for c in 0..<12 { XCTAssertEqual(mean[c], sums[c] * 3, accuracy: 1e-4 * max(1, abs(sums[c])), "channel \(c)") }
        try net.accumulateBatchNormStatistics(images: constantImages([-2, -2]), shape: shape, reset: true)
        mean = try entry("bn1.running_mean", of: net)
        for c in 0..<12 { XCTAssertEqual(mean[c], sums[c] * -2, accuracy: 1e-4 * max(1, abs(sums[c])), "channel \(c)") }
    }

    func test_weightsAndOptimizerUntouched_trainingMomentumRestored() throws {
        let data = TinyRegression(batch: 2, seed: 7)
        let net = try DeepSSMNetwork(inputShape: shape, outputCount: 2, seed: 5, learningRate: 1e-3)
        _ = try net.trainBatch(images: data.images, shape: shape, targets: data.targets)
        let before = try net.stateDict()
        try net.accumulateBatchNormStatistics(images: data.images, shape: shape, reset: true)
        let after = try net.stateDict()
        let buffers = { (name: String) in name.contains("running_") || name.hasSuffix("num_batches_tracked") }
        XCTAssertEqual(before.filter { !buffers($0.name) }, after.filter { !buffers($0.name) })
        XCTAssertNotEqual(try entry("bn1.running_mean", of: net), before.first { $0.name == "bn1.running_mean" }
            .map { if case .float32(let v) = $0.values { return v.map(Double.init) } else { return [] } })

        // A training step folds its batch in with PyTorch's momentum 0.1 again.
        let previous = try entry("bn1.running_mean", of: net)
        let sums = try weightSums(net)
        let bias = try entry("conv1.bias", of: net)
        _ = try net.trainBatch(images: constantImages([2, 2]), shape: shape, targets: [0, 0, 0, 0])
        let next = try entry("bn1.running_mean", of: net)
        for c in 0..<12 {
            let batchMean = 2 * sums[c] + bias[c]
            XCTAssertEqual(next[c], 0.9 * previous[c] + 0.1 * batchMean, accuracy: 1e-4 * max(1, abs(batchMean)),
                           "channel \(c)")
        }
    }

    func test_wrongImageCount_throwsNamingTheShape() throws {
        let net = try DeepSSMNetwork(inputShape: shape, outputCount: 2, seed: 5)
        XCTAssertThrowsError(try net.accumulateBatchNormStatistics(images: [1, 2, 3], shape: shape, reset: true)) {
            XCTAssertTrue("\($0)".contains("not a whole number"), "\($0)")
        }
    }
}
