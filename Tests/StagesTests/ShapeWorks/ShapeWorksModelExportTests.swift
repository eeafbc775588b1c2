import Foundation
import HDF5Kit
import TorchKit
import Workflow
import XCTest
@testable import Stages

/// The exported model loads, strictly, into a PyTorch module with ShapeWorks'
/// DeepSSM names under Debian's python3-torch and reproduces our predictions.
final class ShapeWorksModelExportTests: XCTestCase {
    private var root: URL!
    private var loaders: URL!
    private var model: URL!
    private let scoreMean: [Double] = [1, -2]
    private let scoreStd: [Double] = [3, 0.5]
    private let shape = InputShape(depth: 60, height: 60, width: 60)

    override func setUpWithError() throws {
        root = try temporaryTestDirectory("shapeworks-model-export")
        loaders = root.appendingPathComponent("loaders")
        var fixture = LoadersFixture()
        fixture.scoreMean = scoreMean
        fixture.scoreStd = scoreStd
        try fixture.write(to: loaders)
        // Two training steps move the weights and the batch-norm statistics off their defaults.
        let network = try DeepSSMNetwork(inputShape: shape, outputCount: 2, seed: 7, learningRate: 1e-3)
        let train = try SampleStack(contentsOf: loaders.appendingPathComponent("train.h5"))
        for step in 0..<2 {
            let images = try (0..<2).flatMap { try train.sample("images", 2 * step + $0, as: Float.self) }
            let targets = try (0..<2).flatMap { try train.sample("targets", 2 * step + $0, as: Float.self) }
            _ = try network.trainBatch(images: images, shape: shape, targets: targets)
        }
        model = root.appendingPathComponent("model")
        try writeModelDirectory(network, epoch: 2, loaders: loaders, to: model)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    /// M = 4 particles, N = 3 stored modes, K used.
    private func writePCA(numModes: Int) throws -> URL {
        let url = root.appendingPathComponent("pca-\(numModes).h5")
        let file = try HDF5File(creating: url)
        try file.write((0..<12).map { Double($0) * 1.5 - 4 }, to: "mean")
        try file.write([9.0, 4, 1], to: "eigenvalues")
        try file.write((0..<36).map { sin(Double($0) * 0.7) }, to: "modes", shape: [12, 3])
        try file.write([Double](repeating: 0, count: 3 * numModes), to: "scores", shape: [3, numModes])
        try file.setAttribute("num_modes", .int(Int64(numModes)))
        file.close()
        return url
    }

    private func python() throws -> URL {
        let python = URL(fileURLWithPath: "/usr/bin/python3")
        let probe = Process()
        probe.executableURL = python
        probe.arguments = ["-c", "import torch, numpy"]
        probe.standardError = FileHandle.nullDevice
        guard FileManager.default.isExecutableFile(atPath: python.path), (try? probe.run()) != nil else {
            throw XCTSkip("needs /usr/bin/python3 with Debian's python3-torch (scripts/setup.sh --test installs it)")
        }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else {
            throw XCTSkip("needs Debian's python3-torch under /usr/bin/python3 (scripts/setup.sh --test installs it)")
        }
        return python
    }

    func test_exportedModel_loadsUnderShapeWorksNames_andReproducesOurPredictions() async throws {
        let python = try python()
        let pca = try writePCA(numModes: 2)
        let context = try DeepSSMTestContext(root: root, inputs: ["model": model, "loaders": loaders, "pca": pca],
                                             memoDirectory: root.appendingPathComponent("memo"))
        try await DeepSSMPredict().run(.cpu, context: context)
        let predictions = try SampleStack(contentsOf: context.outputURL("predictions").appendingPathComponent("predictions.h5"))
        let test = try SampleStack(contentsOf: loaders.appendingPathComponent("test.h5"))
        XCTAssertEqual(predictions.ids, test.ids)

        let export = root.appendingPathComponent("export")
        try FileManager.default.createDirectory(at: export, withIntermediateDirectories: true)
        let request = ArtifactExportRequest(kind: "deepssm-train", stage: "deepssm-train", output: "model", url: model,
                                            outputs: ["model": model], inputs: ["pca": pca, "loaders": loaders])
        XCTAssertTrue(ShapeWorksModelExporter().handles(request))
        try ShapeWorksModelExporter().export(request, to: export)
        for path in ["femur_deepssm.json", "femur_deepssm/best_model.torch", "femur_deepssm/final_model.torch",
                     "torch_loaders/mean_PCA.npy", "torch_loaders/std_PCA.npy"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: export.appendingPathComponent(path).path), path)
        }

        let count = test.ids.count
        let images = try (0..<count).flatMap { try test.sample("images", $0, as: Float.self) }
        let expected = try (0..<count).flatMap { try predictions.sample("particles_world", $0, as: Double.self) }
        try NumPyArray.write(images, shape: [count, 1, shape.depth, shape.height, shape.width],
                             to: root.appendingPathComponent("images.npy"))
        try NumPyArray.write(expected, shape: [count, 4, 3], to: root.appendingPathComponent("expected.npy"))

        let process = Process()
        process.executableURL = python
        process.arguments = [SSMFlowProcess.repository.appendingPathComponent("scripts/check-shapeworks-model.py").path,
                             export.path, root.appendingPathComponent("images.npy").path,
                             root.appendingPathComponent("expected.npy").path, "1e-4"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        print("check-shapeworks-model.py: \(output)", terminator: "")
        XCTAssertEqual(process.terminationStatus, 0, output)
        // 5 convs × 2 + 5 batch norms × 5 + 7 PReLUs + fc1, fc2, pca_pred, fc_fine × 2.
        XCTAssertTrue(output.contains("50 tensors loaded strictly"), output)
    }

    func test_export_isByteIdentical_whenRepeated() throws {
        let pca = try writePCA(numModes: 2)
        var digests: [Data] = []
        for run in 0..<2 {
            let export = root.appendingPathComponent("export-\(run)")
            try ShapeWorksModelExport.write(model: model, pca: pca, to: export)
            digests.append(try Data(contentsOf: export.appendingPathComponent("femur_deepssm/best_model.torch")))
        }
        XCTAssertEqual(digests[0], digests[1])
    }

    func test_export_withPCAOfOtherK_failsNamingBoth() throws {
        let pca = try writePCA(numModes: 3)
        XCTAssertThrowsError(try ShapeWorksModelExport.write(model: model, pca: pca, to: root.appendingPathComponent("x"))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("predicts 2 scores") && text.contains("keeps 3 modes") && text.contains(pca.path), text)
        }
    }

    func test_shapeWorksNames_mapEveryLayer() {
        XCTAssertEqual(ShapeWorksModelExport.shapeWorksName("conv3.weight"), "encoder.ConvolutionalBackbone.features.conv3.weight")
        XCTAssertEqual(ShapeWorksModelExport.shapeWorksName("bn5.running_var"), "encoder.ConvolutionalBackbone.features.bn5.running_var")
        XCTAssertEqual(ShapeWorksModelExport.shapeWorksName("prelu7.weight"), "encoder.ConvolutionalBackbone.features.relu7.weight")
        XCTAssertEqual(ShapeWorksModelExport.shapeWorksName("fc2.bias"), "encoder.ConvolutionalBackbone.features.fc2.bias")
        XCTAssertEqual(ShapeWorksModelExport.shapeWorksName("fc3.weight"), "encoder.pca_pred.linear.weight")
        XCTAssertNil(ShapeWorksModelExport.shapeWorksName("optimizer/fc3.weight/exp_avg"))
    }
}
