import XCTest
@testable import TorchKit

final class StateDictTests: XCTestCase {
    private func trainedNetwork(seed: UInt64, steps: Int) throws -> DeepSSMNetwork {
        let data = TinyRegression(batch: 2, seed: 1)
        let net = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: seed, learningRate: 1e-3)
        for _ in 0..<steps {
            _ = try net.trainBatch(images: data.images, shape: TinyRegression.shape, targets: data.targets)
        }
        return net
    }

    func test_stateDict_names_matchPyTorchModule() throws {
        let names = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 1)
            .stateDict().map(\.name)
        XCTAssertEqual(Array(names.prefix(8)), [
            "conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias",
            "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked", "prelu1.weight",
        ])
        XCTAssertEqual(Array(names.suffix(7)), [
            "fc1.weight", "fc1.bias", "prelu6.weight", "fc2.weight", "fc2.bias", "prelu7.weight", "fc3.weight", "fc3.bias",
        ].suffix(7))
        XCTAssertFalse(names.contains { $0.hasPrefix("optimizer/") }, "no Adam state before the first step")
    }

    func test_stateDict_afterStep_hasAdamStateWithStepCount() throws {
        let state = try trainedNetwork(seed: 1, steps: 2).stateDict()
        let step = state.first { $0.name == "optimizer/fc3.bias/step" }
        XCTAssertEqual(step?.values, .int64([2]))
        XCTAssertEqual(step?.shape, [])
        XCTAssertEqual(state.first { $0.name == "optimizer/conv1.weight/exp_avg_sq" }?.shape, [12, 1, 5, 5, 5])
        XCTAssertEqual(state.first { $0.name == "bn1.num_batches_tracked" }?.values, .int64([2]))
    }

    func test_loadStateDict_roundTrip_isExactAndTrainsIdentically() throws {
        let source = try trainedNetwork(seed: 1, steps: 2)
        let copy = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 99, learningRate: 1e-3)
        try copy.loadStateDict(try source.stateDict())
        XCTAssertEqual(try copy.stateDict(), try source.stateDict())

        // Same weights and Adam moments: the next step must give the same bytes.
        let data = TinyRegression(batch: 2, seed: 4)
        let a = try source.trainBatch(images: data.images, shape: TinyRegression.shape, targets: data.targets)
        let b = try copy.trainBatch(images: data.images, shape: TinyRegression.shape, targets: data.targets)
        XCTAssertEqual(a, b)
        XCTAssertEqual(try copy.stateDict(), try source.stateDict())
    }

    func test_loadStateDict_wrongShape_throwsNamingEntry() throws {
        let net = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 1)
        let bad = StateTensor(name: "fc3.bias", shape: [3], values: .float32([0, 0, 0]))
        XCTAssertThrowsError(try net.loadStateDict([bad])) {
            XCTAssertTrue("\($0)".contains("fc3.bias"), "\($0)")
        }
    }

    func test_loadStateDict_unknownName_throws() throws {
        let net = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 1)
        let bad = StateTensor(name: "conv9.weight", shape: [1], values: .float32([0]))
        XCTAssertThrowsError(try net.loadStateDict([bad])) {
            XCTAssertTrue("\($0)".contains("no state entry named 'conv9.weight'"), "\($0)")
        }
    }

    func test_learningRate_setAndRead() throws {
        let net = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 1, learningRate: 1e-4)
        XCTAssertEqual(net.learningRate, 1e-4)
        try net.setLearningRate(5e-5)
        XCTAssertEqual(net.learningRate, 5e-5)
        XCTAssertThrowsError(try net.setLearningRate(0))
    }
}
