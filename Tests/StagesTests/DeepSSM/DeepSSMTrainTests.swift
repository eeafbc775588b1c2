import Foundation
import TorchKit
import Workflow
import XCTest
@testable import Stages

final class DeepSSMTrainTests: XCTestCase {
    private var fixture: TrainingFixture!
    private var root: URL { fixture.root }
    private var loaders: URL { fixture.loaders }

    override func setUpWithError() throws {
        fixture = try TrainingFixture("deepssm-train-tests", writePCA: false)
    }

    override func tearDownWithError() throws { fixture.remove() }

    private func params(epochs: Int, _ edit: (inout DeepSSMTrain.Params) -> Void = { _ in }) -> DeepSSMTrain.Params {
        TrainingFixture.params {
            $0.epochs = epochs
            edit(&$0)
        }
    }

    private func context(memo: String = "memo", loaders: URL? = nil) throws -> DeepSSMTestContext {
        try fixture.context(memo: memo, pca: false, loaders: loaders)
    }

    private func failure(_ params: DeepSSMTrain.Params, loaders: URL? = nil) async throws -> String {
        do {
            try await DeepSSMTrain().run(params, context: try context(memo: UUID().uuidString, loaders: loaders))
        } catch let failure as StageFailure {
            return failure.message
        }
        XCTFail("the stage did not fail")
        return ""
    }

    private func finalModel(_ context: DeepSSMTestContext) throws -> Data {
        try Data(contentsOf: context.outputURL("model").appendingPathComponent("final_model.h5"))
    }

    func test_run_tinyPool_errorFallsAndEveryOutputIsWritten() async throws {
        let context = try context()
        // Six epochs: two batches per epoch make one epoch's error noisy, the trend is not.
        try await DeepSSMTrain().run(params(epochs: 6), context: context)

        let model = context.outputURL("model")
        for file in ["best_model.h5", "final_model.h5", "normalization.json", "training.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: model.appendingPathComponent(file).path), file)
        }
        let rows = try String(contentsOf: context.outputURL("log"), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(rows.first?.joined(separator: ","),
                       "epoch,lr,train_error,train_rel_error,val_error,val_rel_error,phase")
        XCTAssertEqual(rows.count, 7)
        let trainErrors = rows.dropFirst().map { Double($0[2])! }
        XCTAssertLessThan(trainErrors.suffix(2).reduce(0, +) / 2, trainErrors.first!, "train errors \(trainErrors)")
        XCTAssertTrue(rows.dropFirst().allSatisfy { Double($0[5]) != nil }, "every epoch validated")

        let png = try Data(contentsOf: context.outputURL("curve"))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        XCTAssertNotNil(context.metrics["best_val_rel_error"])

        // The best model is the epoch with the lowest validation relative error.
        let history = rows.dropFirst().map { (Int($0[0])!, Double($0[5])!) }
        let best = history.min { ($0.1, $0.0) < ($1.1, $1.0) }!.0
        let bestFile = try NetworkCheckpoint(contentsOf: model.appendingPathComponent("best_model.h5"))
        XCTAssertEqual(bestFile.attributes["epoch"], .int(Int64(best)))
        XCTAssertFalse(bestFile.tensors.contains { $0.name.hasPrefix("optimizer/") })
    }

    func test_run_killedThenRerun_resumesAndEqualsUninterrupted() async throws {
        try await assertResumeIsByteIdentical(params(epochs: 2))
    }

    func test_run_killedThenRerun_withScheduleFocalLossAndAugmentation_isByteIdentical() async throws {
        try await assertResumeIsByteIdentical(params(epochs: 2) {
            $0.lr_schedule = "cosine"
            $0.T_max = 2
            $0.loss = "focal"
            $0.intensity_augmentation = true
            $0.intensity_gamma = 0.2
            $0.intensity_blur = 1
            $0.intensity_blur_p = 0.5
        })
    }

    func test_run_killedThenRerun_withPreciseBatchNorm_isByteIdentical() async throws {
        try await assertResumeIsByteIdentical(params(epochs: 2) {
            $0.precise_bn_samples = 2
            $0.intensity_augmentation = true
        })
    }

    /// Precise batch norm recomputes the running statistics after each epoch
    /// and nothing else: the weights are those of the same training without it.
    func test_run_preciseBatchNorm_changesOnlyTheRunningStatistics() async throws {
        let plain = try context(memo: "memo-plain")
        try await DeepSSMTrain().run(params(epochs: 2), context: plain)
        let precise = try context(memo: "memo-precise")
        try await DeepSSMTrain().run(params(epochs: 2) { $0.precise_bn_samples = 4 }, context: precise)
        let a = try NetworkCheckpoint(contentsOf: plain.outputURL("model").appendingPathComponent("final_model.h5"))
        let b = try NetworkCheckpoint(contentsOf: precise.outputURL("model").appendingPathComponent("final_model.h5"))
        let statistics = { (name: String) in name.contains(".running_") || name.hasSuffix(".num_batches_tracked") }
        XCTAssertEqual(a.tensors.filter { !statistics($0.name) }, b.tensors.filter { !statistics($0.name) })
        for name in ["bn1.running_mean", "bn5.running_var"] {
            XCTAssertNotEqual(a.tensors.first { $0.name == name }, b.tensors.first { $0.name == name }, name)
        }
    }

    /// Loaders whose two modes have score stds 3 and 1: variance weights 1.8 and 0.2.
    private func skewedLoaders() throws -> URL {
        let url = root.appendingPathComponent("skewed")
        var skewed = LoadersFixture()
        skewed.scoreStd = [3, 1]
        try skewed.write(to: url)
        return url
    }

    func test_run_killedThenRerun_withVarianceLossWeights_isByteIdentical() async throws {
        try await assertResumeIsByteIdentical(params(epochs: 2) { $0.loss_weights = "variance" }, loaders: try skewedLoaders())
    }

    /// `loss_weights: variance` weighs score k by σ_k² / mean(σ²), σ the
    /// loaders' score stds: logged, and a training different from equal weights.
    func test_run_varianceLossWeights_areTheModeVariances_andChangeTheTraining() async throws {
        let skewed = try skewedLoaders()
        let normalization = try LoaderArtifact(skewed).normalization()
        let variances = normalization.scoreStd.map { $0 * $0 }
        let mean = variances.reduce(0, +) / Double(variances.count)
        var p = params(epochs: 1) { $0.loss_weights = "variance" }
        let weights = try XCTUnwrap(p.scoreWeights(normalization))
        XCTAssertEqual(weights.count, normalization.numModes)
        for (w, v) in zip(weights, variances) { XCTAssertEqual(Double(w), v / mean, accuracy: 1e-6) }
        XCTAssertEqual(weights, [1.8, 0.2])

        let weighted = try context(memo: "memo-weighted", loaders: skewed)
        try await DeepSSMTrain().run(p, context: weighted)
        let logged = "loss weights (mode variances): " + weights.map { String(format: "%.3g", $0) }.joined(separator: ", ")
        XCTAssertTrue(weighted.logs.contains(logged), "\(weighted.logs)")
        let plain = try context(memo: "memo-equal", loaders: skewed)
        p.loss_weights = "equal"
        XCTAssertNil(p.scoreWeights(normalization))
        try await DeepSSMTrain().run(p, context: plain)
        XCTAssertFalse(plain.logs.contains { $0.contains("loss weights") })
        XCTAssertNotEqual(try finalModel(weighted), try finalModel(plain))
    }

    func test_params_scoreWeights_knownStds() {
        var p = DeepSSMTrain.Params()
        p.loss_weights = "variance"
        var normalization = LoaderNormalization(intensityMean: 0, intensityStd: 1, scoreMean: [0, 0, 0], scoreStd: [1, 2, 3],
                                                downFactor: 1, batchSize: 1, dims: [1, 1, 1], spacing: [1, 1, 1],
                                                origin: [0, 0, 0], trainCount: 1, valCount: 1, testCount: 1)
        // Variances 1, 4, 9 with mean 14/3.
        XCTAssertEqual(p.scoreWeights(normalization), [Float(3.0 / 14), Float(12.0 / 14), Float(27.0 / 14)])
        normalization.scoreStd = [0, 0, 0]
        XCTAssertNil(p.scoreWeights(normalization), "no variance: equal weights")
    }

    /// Kills a training in epoch 2, resumes it, and compares every byte with an
    /// uninterrupted run: the model files, the log, the curve and each epoch's checkpoint.
    private func assertResumeIsByteIdentical(_ params: DeepSSMTrain.Params, loaders: URL? = nil,
                                             file: StaticString = #filePath, line: UInt = #line) async throws {
        let tag = UUID().uuidString.prefix(8)
        let uninterrupted = try context(memo: "memo-a-\(tag)", loaders: loaders)
        try await DeepSSMTrain().run(params, context: uninterrupted)

        let killed = try context(memo: "memo-b-\(tag)", loaders: loaders)
        killed.killAfterProgressCalls = 3  // epoch 1 has 2 batches: dies in epoch 2
        do {
            try await DeepSSMTrain().run(params, context: killed)
            XCTFail("the run was not interrupted", file: file, line: line)
        } catch is CancellationError {}

        let resumed = try context(memo: "memo-b-\(tag)", loaders: loaders)
        try await DeepSSMTrain().run(params, context: resumed)
        XCTAssertTrue(resumed.logs.contains("resuming from the checkpoint of epoch 1 of 2"), "\(resumed.logs)",
                      file: file, line: line)
        XCTAssertEqual(resumed.progressCalls, 2, "only epoch 2 is trained again", file: file, line: line)
        XCTAssertEqual(try finalModel(resumed), try finalModel(uninterrupted), file: file, line: line)
        let a = try Self.files(under: uninterrupted.outputURL("model")), b = try Self.files(under: resumed.outputURL("model"))
        XCTAssertEqual(Set(a.keys), ["best_model.h5", "final_model.h5", "normalization.json", "training.json"],
                       file: file, line: line)
        XCTAssertEqual(a, b, "model files", file: file, line: line)
        XCTAssertEqual(try Data(contentsOf: uninterrupted.outputURL("log")), try Data(contentsOf: resumed.outputURL("log")),
                       file: file, line: line)
        for epoch in 1...2 {
            let stored = try XCTUnwrap(EpochCheckpoint.slot(epoch: epoch, phase: .training, context: uninterrupted).lookup(),
                                       file: file, line: line)
            let again = try XCTUnwrap(EpochCheckpoint.slot(epoch: epoch, phase: .training, context: resumed).lookup(),
                                      file: file, line: line)
            let memoA = try Self.files(under: stored), memoB = try Self.files(under: again)
            XCTAssertEqual(Set(memoA.keys), ["checkpoint.h5", "history.json"], file: file, line: line)
            XCTAssertEqual(memoA, memoB, "the checkpoint of epoch \(epoch)", file: file, line: line)
        }
        XCTAssertNil(try EpochCheckpoint.slot(epoch: 3, phase: .training, context: resumed).lookup(), file: file, line: line)
    }

    /// Every regular file under `directory` by relative path.
    private static func files(under directory: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let paths = FileManager.default.enumerator(atPath: directory.path)?.allObjects as? [String] ?? []
        for path in paths {
            var isDirectory: ObjCBool = false
            let url = directory.appendingPathComponent(path)
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[path] = try Data(contentsOf: url)
            }
        }
        return result
    }

    func test_run_earlyStopping_reusesStoredEpochs_andStopsWherePatienceRunsOut() async throws {
        let plain = try context(memo: "memo-early")
        try await DeepSSMTrain().run(params(epochs: 3), context: plain)
        let history = try String(contentsOf: plain.outputURL("log"), encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let best = history.min { (Double($0[5])!, Int($0[0])!) < (Double($1[5])!, Int($1[0])!) }.map { Int($0[0])! }!

        // Early stopping does not enter the epoch memos: the stored epochs are reused as they are.
        let stopping = try context(memo: "memo-early")
        try await DeepSSMTrain().run(params(epochs: 3) { $0.early_stopping = true; $0.patience = 1 }, context: stopping)
        XCTAssertEqual(stopping.progressCalls, 0, "nothing is trained again")
        let expectedLast = min(3, best + 1)
        let rows = try String(contentsOf: stopping.outputURL("log"), encoding: .utf8).split(separator: "\n").count - 1
        XCTAssertEqual(rows, expectedLast, "best epoch \(best), patience 1")
        let summary = try JSONSerialization.jsonObject(
            with: Data(contentsOf: stopping.outputURL("model").appendingPathComponent("training.json"))) as! [String: Any]
        XCTAssertEqual(summary["final_epoch"] as? Int, expectedLast)
        XCTAssertEqual(summary["stopped_early"] as? Bool, expectedLast < 3)
        let final = try NetworkCheckpoint(contentsOf: stopping.outputURL("model").appendingPathComponent("final_model.h5"))
        XCTAssertEqual(final.attributes["epoch"], .int(Int64(expectedLast)))
    }

    func test_run_raisingThenLoweringEpochs_reusesStoredEpochs() async throws {
        let one = try context()
        try await DeepSSMTrain().run(params(epochs: 1), context: one)
        let two = try context()
        try await DeepSSMTrain().run(params(epochs: 2), context: two)
        XCTAssertTrue(two.logs.contains("resuming from the checkpoint of epoch 1 of 2"), "\(two.logs)")
        XCTAssertEqual(two.progressCalls, 2)
        let csv = try String(contentsOf: two.outputURL("log"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 3)

        let lowered = try context()
        try await DeepSSMTrain().run(params(epochs: 1), context: lowered)
        XCTAssertEqual(lowered.progressCalls, 0, "epoch 1 is reused, nothing is trained")
        XCTAssertEqual(try finalModel(lowered), try finalModel(one))
    }

    func test_run_cudaRequestedWithoutGPU_failsEarlySayingWhy() async throws {
        try XCTSkipIf(Torch.cudaDeviceCount > 0, "a CUDA device is present")
        let message = try await failure(params(epochs: 1) { $0.device = "cuda" })
        XCTAssertTrue(message.contains("device 'cuda' was requested"), message)
    }

    func test_run_inputBelowMinimum_namesMinimumSize() async throws {
        let small = root.appendingPathComponent("small")
        var fixture = LoadersFixture()
        fixture.shape = (nz: 59, ny: 60, nx: 60)
        try fixture.write(to: small)
        let message = try await failure(params(epochs: 1), loaders: small)
        XCTAssertTrue(message.contains("1x59x60x60 is too small"), message)
        XCTAssertTrue(message.contains("at least 60"), message)
    }

    func test_run_targetsAndNormalizationDisagreeOnK_failsNamingBoth() async throws {
        let mismatched = root.appendingPathComponent("mismatched")
        var fixture = LoadersFixture()
        fixture.normalizationModes = 3
        try fixture.write(to: mismatched)
        let message = try await failure(params(epochs: 1), loaders: mismatched)
        XCTAssertTrue(message.contains("K mismatch: train.h5 holds 2 target scores"), message)
        XCTAssertTrue(message.contains("normalization.json has 3 modes"), message)
    }

    func test_run_nanImage_stopsNamingEpochAndKeepingLastCheckpoint() async throws {
        let broken = root.appendingPathComponent("broken")
        var fixture = LoadersFixture()
        fixture.nanTrainSample = 1
        try fixture.write(to: broken)
        let message = try await failure(params(epochs: 2), loaders: broken)
        XCTAssertTrue(message.contains("training diverged: the loss is nan in epoch 1"), message)
        XCTAssertTrue(message.contains("train_1"), message)
        XCTAssertTrue(message.contains("the checkpoint of epoch 0 stays in the cache"), message)
    }

    func test_params_invalidValues_reportEveryIssue() {
        var p = DeepSSMTrain.Params()
        p.device = "tpu"
        p.epochs = 0
        p.learning_rate = -1
        p.precise_bn_samples = -4
        p.loss_weights = "eigen"
        let issues = p.validate()
        XCTAssertEqual(Set(issues.map(\.parameter)), ["device", "epochs", "learning_rate", "precise_bn_samples", "loss_weights"])
        XCTAssertTrue(issues.contains { $0.message.contains("'tpu' is not a device; use cpu, cuda or auto") })
        XCTAssertTrue(issues.contains { $0.message == "'eigen' is not a weighting; use equal or variance" })
    }

    func test_params_decayLR_followsStepLR() {
        var p = DeepSSMTrain.Params()
        p.decay_lr = true
        XCTAssertEqual(p.learningRate(epoch: 1), 1e-4)
        XCTAssertEqual(p.learningRate(epoch: 3), 1e-4 * 0.99 * 0.99, accuracy: 1e-15)
    }
}
