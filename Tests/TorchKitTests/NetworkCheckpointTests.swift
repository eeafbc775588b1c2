import Foundation
import HDF5Kit
import XCTest
@testable import TorchKit
import WorkflowTesting

final class NetworkCheckpointTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("checkpoint-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func trainedNetwork(steps: Int) throws -> DeepSSMNetwork {
        let data = TinyRegression(batch: 2, seed: 1)
        let net = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 2, seed: 3, learningRate: 1e-3)
        for _ in 0..<steps {
            _ = try net.trainBatch(images: data.images, shape: TinyRegression.shape, targets: data.targets)
        }
        return net
    }

    func test_writeThenRead_roundTripsEveryTensorAndAttribute() throws {
        let net = try trainedNetwork(steps: 1)
        let saved = try NetworkCheckpoint(network: net, rngState: [1, 2, 3],
                                          attributes: ["epoch": .int(4), "order_position": .int(17)])
        let url = directory.appendingPathComponent("model.h5")
        try saved.write(to: url)
        let loaded = try NetworkCheckpoint(contentsOf: url)

        XCTAssertEqual(Dictionary(uniqueKeysWithValues: loaded.tensors.map { ($0.name, $0) }),
                       Dictionary(uniqueKeysWithValues: saved.tensors.map { ($0.name, $0) }))
        XCTAssertEqual(loaded.rngState, [1, 2, 3])
        XCTAssertEqual(loaded.attributes, ["epoch": .int(4), "order_position": .int(17)])
        XCTAssertEqual(loaded.inputShape, TinyRegression.shape)
        XCTAssertEqual(loaded.outputCount, 2)
        XCTAssertEqual(loaded.learningRate, 1e-3)
    }

    func test_write_sameState_sameBytes() throws {
        let checkpoint = try NetworkCheckpoint(network: try trainedNetwork(steps: 1))
        let a = directory.appendingPathComponent("a.h5"), b = directory.appendingPathComponent("b.h5")
        try checkpoint.write(to: a)
        try checkpoint.write(to: b)
        XCTAssertEqual(try Data(contentsOf: a), try Data(contentsOf: b))
    }

    func test_makeNetwork_fromFile_continuesTrainingIdentically() throws {
        let original = try trainedNetwork(steps: 2)
        let url = directory.appendingPathComponent("model.h5")
        try NetworkCheckpoint(network: original).write(to: url)
        let resumed = try NetworkCheckpoint(contentsOf: url).makeNetwork()

        let data = TinyRegression(batch: 2, seed: 9)
        XCTAssertEqual(try resumed.trainBatch(images: data.images, shape: TinyRegression.shape, targets: data.targets),
                       try original.trainBatch(images: data.images, shape: TinyRegression.shape, targets: data.targets))
        XCTAssertEqual(try resumed.stateDict(), try original.stateDict())
    }

    func test_restore_otherOutputCount_throwsSayingBothSizes() throws {
        let checkpoint = try NetworkCheckpoint(network: try DeepSSMNetwork(inputShape: TinyRegression.shape,
                                                                           outputCount: 2, seed: 1))
        let other = try DeepSSMNetwork(inputShape: TinyRegression.shape, outputCount: 3, seed: 1)
        XCTAssertThrowsError(try checkpoint.restore(into: other)) {
            XCTAssertTrue("\($0)".contains("2 scores but the network takes 1x60x60x60 and 3"), "\($0)")
        }
    }

    func test_read_fileOfAnotherFormat_throwsNamingFormat() throws {
        let url = directory.appendingPathComponent("other.h5")
        let file = try HDF5File(creating: url)
        try file.write([Float(1)], to: "x")
        file.close()
        XCTAssertThrowsError(try NetworkCheckpoint(contentsOf: url)) {
            XCTAssertTrue("\($0)".contains("not 'ssmflow-deepssm-1'"), "\($0)")
        }
    }

    /// The saved file loads with h5py into the plain PyTorch module of
    /// bench/torch/deepssm.py and predicts the same scores.
    func test_savedWeights_loadIntoPyTorchModule_samePredictions() throws {
        let python = URL(fileURLWithPath: "/usr/bin/python3")
        let bench = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../bench/torch").standardized
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: python.path), "no /usr/bin/python3")
        let probe = try run(python, ["-c", "import torch, h5py"], in: bench)
        try XCTSkipUnless(probe.status == 0, "python3 lacks torch or h5py")

        let net = try trainedNetwork(steps: 2)
        let url = directory.appendingPathComponent("model.h5")
        try NetworkCheckpoint(network: net).write(to: url)
        let data = TinyRegression(batch: 2, seed: 5)
        let input = directory.appendingPathComponent("input.f32")
        try data.images.withUnsafeBytes { try Data($0).write(to: input) }
        let expected = try net.evaluateBatch(images: data.images, shape: TinyRegression.shape)

        let script = """
        import sys, numpy as np, torch
        from deepssm import DeepSSMNet, load_hdf5_state
        net = load_hdf5_state(DeepSSMNet(60, 60, 60, 2), sys.argv[1]).eval()
        x = torch.from_numpy(np.fromfile(sys.argv[2], dtype=np.float32).reshape(2, 1, 60, 60, 60))
        with torch.no_grad():
            print(" ".join(f"{v:.9g}" for v in net(x).flatten().tolist()))
        """
        let result = try run(python, ["-c", script, url.path, input.path], in: bench)
        XCTAssertEqual(result.status, 0, result.output)
        let predicted = result.output.split(whereSeparator: \.isWhitespace).compactMap { Float($0) }
        XCTAssertEqual(predicted.count, expected.count, result.output)
        for (p, e) in zip(predicted, expected) { XCTAssertEqual(p, e, accuracy: 1e-4) }
    }

    private func run(_ executable: URL, _ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        try ChildProcess.run(executable, arguments, in: directory, environment: ["PYTHONDONTWRITEBYTECODE": "1"])
    }
}
