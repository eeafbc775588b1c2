import Foundation
import TorchKit
import Workflow
import XCTest
@testable import Stages

/// `residency` of deepssm-train (the splits on the device) and the deferred
/// loss read-back of the CUDA path, exercised on the CPU: the same bytes as
/// the streamed, per-batch path; a clear failure when `device` does not fit;
/// issues for bad values; never part of the stage key.
final class DeepSSMResidencyTests: XCTestCase {
    private var fixture: TrainingFixture!
    private var root: URL { fixture.root }
    private var loaders: URL { fixture.loaders }

    override func setUpWithError() throws {
        fixture = try TrainingFixture("deepssm-residency-tests", writePCA: false) {
            $0.trainCount = 5  // batches of 2, 2 and 1
            $0.valCount = 3
        }
    }

    override func tearDownWithError() throws { fixture.remove() }

    private func params(_ edit: (inout DeepSSMTrain.Params) -> Void = { _ in }) -> DeepSSMTrain.Params {
        TrainingFixture.params {
            $0.epochs = 2
            edit(&$0)
        }
    }

    private func context(loaders: URL? = nil) throws -> DeepSSMTestContext {
        try fixture.context(memo: "memo-\(UUID().uuidString)", pca: false, loaders: loaders)
    }

    private func outputs(_ context: DeepSSMTestContext) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in ["best_model.h5", "final_model.h5", "training.json"] {
            files[name] = try Data(contentsOf: context.outputURL("model").appendingPathComponent(name))
        }
        files["log"] = try Data(contentsOf: context.outputURL("log"))
        return files
    }

    func test_residencyDevice_onTheCPU_writesTheBytesOfTheStreamedPath() async throws {
        let streamed = try context()
        try await DeepSSMTrain().run(params(), context: streamed)
        XCTAssertFalse(streamed.logs.contains { $0.contains("resident") }, "\(streamed.logs)")

        let resident = try context()
        try await DeepSSMTrain().run(params { $0.residency = "device" }, context: resident)
        XCTAssertTrue(resident.logs.contains { $0.hasPrefix("splits resident on cpu (5 + 3 images of 1x60x60x60 in fp32") },
                      "\(resident.logs)")
        XCTAssertEqual(resident.progressCalls, streamed.progressCalls, "a progress line per batch on the CPU")
        XCTAssertEqual(try outputs(resident), try outputs(streamed))

        let stream = try context()
        try await DeepSSMTrain().run(params { $0.residency = "stream" }, context: stream)
        XCTAssertEqual(try outputs(stream), try outputs(streamed))
    }

    func test_deferredReadback_givesTheSameErrors_andFewerProgressLines() throws {
        // The CUDA path's loss queue, on the CPU: one read-back per epoch.
        let reference = try epochErrors(feed: nil)
        for resident in [false, true] {
            let (errors, progress) = try epochErrors(feed: (resident, 1000))
            XCTAssertEqual(errors.map(\.error), reference.errors.map(\.error), "resident \(resident)")
            XCTAssertEqual(errors.map(\.relativeError), reference.errors.map(\.relativeError), "resident \(resident)")
            XCTAssertEqual(progress, 2, "one progress line per epoch, resident \(resident)")
        }
        XCTAssertEqual(reference.progress, 6, "3 batches in each of 2 epochs")
        let (_, everyBatch) = try epochErrors(feed: (true, 1))
        XCTAssertEqual(everyBatch, 6)
    }

    /// Two training epochs of a fresh network, through `feed` (resident, read-back batches) or the default path.
    private func epochErrors(feed: (resident: Bool, batches: Int)?,
                             loaders: URL? = nil) throws -> (errors: [TrainingLoop.Errors], progress: Int) {
        let context = try context(loaders: loaders)
        let artifact = LoaderArtifact(loaders ?? self.loaders)
        let train = try artifact.reader(.train, batchSize: 2, shuffle: true, seed: 1)
        let validation = try artifact.reader(.validation, batchSize: 2)
        try Torch.setThreads(1)
        let network = try DeepSSMNetwork(inputShape: InputShape(depth: 60, height: 60, width: 60), outputCount: 2,
                                         seed: 1, device: .cpu, learningRate: 1e-3)
        let loop = TrainingLoop(network: network, train: train, validation: validation, context: context)
        if let feed {
            let splits = feed.resident
                ? BatchFeed.Resident(train: try BatchFeed.upload(train, to: network, bf16Images: false),
                                     validation: try BatchFeed.upload(validation, to: network, bf16Images: false))
                : nil
            let batchFeed = BatchFeed(resident: splits, deferred: true, context: context)
            batchFeed.readbackBatches = feed.batches
            batchFeed.readbackSeconds = 3600
            loop.feed = batchFeed
        }
        var clock = TrainingLoop.Clock(totalBatches: 6, doneBatches: 0)
        var errors: [TrainingLoop.Errors] = []
        for epoch in 1...2 {
            try Torch.manualSeed(DeepSSMTrain.epochSeed(1, epoch: epoch))
            errors.append(try loop.trainEpoch(epoch, of: 2, clock: &clock))
            errors.append(try loop.validate())
        }
        return (errors, context.progressCalls)
    }

    func test_deferredReadback_nanImage_failsNamingTheBatchAndTheDiscardedEpoch() throws {
        let broken = root.appendingPathComponent("broken")
        var fixture = LoadersFixture()
        fixture.nanTrainSample = 1
        try fixture.write(to: broken)
        XCTAssertThrowsError(try epochErrors(feed: (true, 1000), loaders: broken)) { error in
            let message = (error as? StageFailure)?.message ?? "\(error)"
            XCTAssertTrue(message.contains("training diverged: the loss is nan in epoch 1, batch"), message)
            XCTAssertTrue(message.contains("train_1"), message)
            XCTAssertTrue(message.contains("read back with batches 1–2"), message)
            XCTAssertTrue(message.contains("this epoch's weights are discarded and the checkpoint of epoch 0 stays"), message)
        }
    }

    func test_residencyDevice_thatDoesNotFit_failsBeforeTrainingNamingSizesAndFixes() async throws {
        setenv("SSMFLOW_DEVICE_MEMORY", "1000000", 1)
        defer { unsetenv("SSMFLOW_DEVICE_MEMORY") }
        let small = try context()
        do {
            try await DeepSSMTrain().run(params { $0.residency = "device" }, context: small)
            XCTFail("the stage did not fail")
        } catch let failure as StageFailure {
            let message = failure.message
            XCTAssertTrue(message.hasPrefix("residency: device does not fit: 5 + 3 images of 1x60x60x60 in fp32 take 0.01 GiB on cpu"), message)
            XCTAssertTrue(message.contains("0.00 GiB of"), message)
            XCTAssertTrue(message.contains("use residency: auto or stream"), message)
        }
        XCTAssertEqual(small.progressCalls, 0, "no batch was trained")

        // auto streams instead.
        let auto = try context()
        try await DeepSSMTrain().run(params { $0.residency = "auto"; $0.epochs = 1 }, context: auto)
        XCTAssertEqual(auto.progressCalls, 3)
    }

    func test_residencyDecision_followsTheMemoryRule() throws {
        let shape = InputShape(depth: 78, height: 96, width: 102)
        let need = DeviceDataset.bytes(count: 4500, shape: shape, outputs: 6, bf16Images: false)
        XCTAssertEqual(need, 4500 * (shape.voxelCount * 4 + 24))
        let half = DeviceDataset.bytes(count: 4500, shape: shape, outputs: 6, bf16Images: true)
        XCTAssertEqual(half, 4500 * (shape.voxelCount * 2 + 24))
        let margin = StageResidency.margin(batchSize: 8, shape: shape)
        func decide(_ residency: StageResidency, _ device: TorchDevice, free: Int, bf16: Bool = false) throws -> Bool {
            try residency.resident(device: device, train: 4000, validation: 500, shape: shape, outputs: 6, batchSize: 8,
                                   bf16Images: bf16, augmentation: false, memory: (free, 80 << 30)).resident
        }
        XCTAssertTrue(try decide(.auto, .cuda, free: need + margin))
        XCTAssertFalse(try decide(.auto, .cuda, free: need + margin - 1))
        XCTAssertTrue(try decide(.auto, .cuda, free: half + margin, bf16: true), "bf16 images take half")
        XCTAssertFalse(try decide(.auto, .cpu, free: 1 << 50), "the CPU streams unless told")
        XCTAssertFalse(try decide(.stream, .cuda, free: 1 << 50))
        XCTAssertTrue(try decide(.device, .cpu, free: need + margin))
        XCTAssertThrowsError(try decide(.device, .cuda, free: need)) { error in
            let message = (error as? StageFailure)?.message ?? "\(error)"
            XCTAssertTrue(message.contains("4000 + 500 images of 1x78x96x102 in fp32 take 12.80 GiB on cuda"), message)
            XCTAssertTrue(message.contains("precision: bf16 (half the image bytes)"), message)
        }
    }

    func test_params_badResidency_isAnIssue_andResidencyStaysOutOfTheKey() throws {
        var p = params()
        p.residency = "gpu"
        XCTAssertEqual(p.validate().map(\.parameter), ["residency"])
        XCTAssertTrue(p.validate().first?.message.contains("'gpu' is not a residency; use auto, device or stream") ?? false)
        p.residency = "device"
        p.intensity_augmentation = true
        XCTAssertEqual(p.validate().map(\.parameter), ["residency"])
        p.residency = "auto"
        XCTAssertEqual(p.validate().map(\.parameter), [])

        let kind = StageKind(DeepSSMTrain.self)
        XCTAssertEqual(kind.unkeyedParameters, ["residency"])
        let defaults = try kind.defaults()
        XCTAssertNil(defaults.members["residency"], "absent from the defaults: existing keys stay")
        let (set, issues) = try kind.resolve(defaults.overlaid(with: .object(["residency": .string("device")])))
        XCTAssertEqual(issues.count, 0)
        XCTAssertEqual(set.members["residency"], .string("device"), "the stage receives it")
        XCTAssertEqual(kind.keyed(set), kind.keyed(try kind.resolve(defaults).params))
        XCTAssertTrue(DeepSSMTrain.memoIgnored.contains("residency"))
    }
}
