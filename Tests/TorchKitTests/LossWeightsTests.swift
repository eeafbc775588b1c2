import XCTest
@testable import TorchKit

/// Per-output loss weights (`setLossWeights`): an output of weight 0 gives
/// its final-layer row no gradient, so Adam leaves that row exactly as it was;
/// weights of 1 train as the plain MSE; the returned loss stays the
/// unweighted MSE; wrong counts and values are refused.
final class LossWeightsTests: XCTestCase {
    private let shape = TinyRegression.shape

    private func floats(_ name: String, _ dict: [StateTensor]) -> [Float] {
        guard case .float32(let v)? = dict.first(where: { $0.name == name })?.values else {
            XCTFail("no float entry \(name)")
            return []
        }
        return v
    }

    /// fc3's weight row and bias of output `k` (fc3.weight is [outputs, 96]).
    private func finalRow(_ k: Int, _ dict: [StateTensor]) -> [Float] {
        let weight = floats("fc3.weight", dict), bias = floats("fc3.bias", dict)
        let width = weight.count / bias.count
        return Array(weight[(k * width)..<((k + 1) * width)]) + [bias[k]]
    }

    func test_zeroWeight_leavesThatOutputsFinalRowUnchanged_andTheOtherTrains() throws {
        let data = TinyRegression(batch: 2, seed: 7)
        let net = try DeepSSMNetwork(inputShape: shape, outputCount: 2, seed: 5, learningRate: 1e-3)
        try net.setLossWeights([1, 0])
        let before = try net.stateDict()
        for _ in 0..<3 { _ = try net.trainBatch(images: data.images, shape: shape, targets: data.targets) }
        let after = try net.stateDict()
        XCTAssertEqual(finalRow(1, after), finalRow(1, before), "an output of weight 0 gets no gradient")
        XCTAssertNotEqual(finalRow(0, after), finalRow(0, before))

        // Without weights, both rows train.
        let plain = try DeepSSMNetwork(inputShape: shape, outputCount: 2, seed: 5, learningRate: 1e-3)
        _ = try plain.trainBatch(images: data.images, shape: shape, targets: data.targets)
        XCTAssertNotEqual(finalRow(1, try plain.stateDict()), finalRow(1, before))
    }

    func test_unitWeights_trainAsPlainMSE_andTheReturnedLossIsUnweighted() throws {
        let data = TinyRegression(batch: 2, seed: 7)
        let plain = try DeepSSMNetwork(inputShape: shape, outputCount: 2, seed: 5, learningRate: 1e-3)
        let unit = try DeepSSMNetwork(inputShape: shape, outputCount: 2, seed: 5, learningRate: 1e-3)
        // Weights set and then cleared (an empty list): equal weights again, the plain path.
        let restored = try DeepSSMNetwork(inputShape: shape, outputCount: 2, seed: 5, learningRate: 1e-3)
        try unit.setLossWeights([1, 1])
        try restored.setLossWeights([1, 0])
        try restored.setLossWeights([])
        for _ in 0..<3 {
            let a = try plain.trainBatch(images: data.images, shape: shape, targets: data.targets)
            let b = try unit.trainBatch(images: data.images, shape: shape, targets: data.targets)
            XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(a)))
            XCTAssertEqual(try restored.trainBatch(images: data.images, shape: shape, targets: data.targets), a)
        }
        let p = floats("fc3.weight", try plain.stateDict()), u = floats("fc3.weight", try unit.stateDict())
        for (x, y) in zip(p, u) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        XCTAssertEqual(try restored.stateDict(), try plain.stateDict())

        // The same first step's loss is reported, whatever the weights: the MSE.
        let fresh = try DeepSSMNetwork(inputShape: shape, outputCount: 2, seed: 5, learningRate: 1e-3)
        let freshLoss = try fresh.trainBatch(images: data.images, shape: shape, targets: data.targets)
        let again = try DeepSSMNetwork(inputShape: shape, outputCount: 2, seed: 5, learningRate: 1e-3)
        try again.setLossWeights([1.9, 0.1])
        XCTAssertEqual(try again.trainBatch(images: data.images, shape: shape, targets: data.targets), freshLoss)
    }

    func test_wrongCountOrValues_areRefusedNamingThem() throws {
        let net = try DeepSSMNetwork(inputShape: shape, outputCount: 2, seed: 5)
        XCTAssertThrowsError(try net.setLossWeights([1, 1, 1])) {
            XCTAssertTrue("\($0)".contains("3 loss weights for a network of 2 outputs"), "\($0)")
        }
        XCTAssertThrowsError(try net.setLossWeights([1, -1])) {
            XCTAssertTrue("\($0)".contains("finite and non-negative"), "\($0)")
        }
        XCTAssertThrowsError(try net.setLossWeights([1, .nan]))
    }
}
