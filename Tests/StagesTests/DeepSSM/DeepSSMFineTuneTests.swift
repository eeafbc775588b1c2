import Foundation
import HDF5Kit
import TorchKit
import Workflow
import XCTest
@testable import Stages
@testable import ShapeModel

/// `deepssm-train` with `fine_tune_epochs`: fine-tuning on particles through
/// the fixed PCA decoder.
final class DeepSSMFineTuneTests: XCTestCase {
    private var fixture: TrainingFixture!
    private var loaders: URL { fixture.loaders }

    override func setUpWithError() throws {
        fixture = try TrainingFixture("deepssm-fine-tune-tests") {
            $0.scoreMean = [0.5, -1]
            $0.scoreStd = [3, 2]
        }
    }

    override func tearDownWithError() throws { fixture.remove() }

    private func params(epochs: Int = 1, fineTune: Int) -> DeepSSMTrain.Params {
        TrainingFixture.params {
            $0.epochs = epochs
            $0.fine_tune_epochs = fineTune
            $0.fine_tune_learning_rate = 1e-3
        }
    }

    private func context(memo: String = "memo", pca: Bool = true) throws -> DeepSSMTestContext {
        try fixture.context(memo: memo, pca: pca)
    }

    private func finalModel(_ context: DeepSSMTestContext) throws -> Data {
        try Data(contentsOf: context.outputURL("model").appendingPathComponent("final_model.h5"))
    }

    func test_decoder_ofWhitenedScores_isThePCAReconstruction() throws {
        let normalization = try LoaderNormalization(contentsOf: loaders.appendingPathComponent("normalization.json"))
        let decoder = try PCADecoder(pca: tinyPCAModel, normalization: normalization)
        XCTAssertEqual(decoder.particleValues, 9)
        for scores in [[0.0, 0.0], [2.5, -1.5], [-4, 3]] {
            let decoded = decoder.decode(normalization.whiten(scores))
            let expected = tinyPCAModel.reconstruct(scores: scores).flattened
            for (d, e) in zip(decoded, expected) { XCTAssertEqual(Double(d), e, accuracy: 1e-5) }
        }
    }

    func test_decoder_otherK_failsNamingBoth() throws {
        var normalization = try LoaderNormalization(contentsOf: loaders.appendingPathComponent("normalization.json"))
        normalization.scoreMean = [0, 0, 0]
        normalization.scoreStd = [1, 1, 1]
        XCTAssertThrowsError(try PCADecoder(pca: tinyPCAModel, normalization: normalization)) { error in
            XCTAssertTrue("\(error)".contains("the loaders whiten 3 scores but the PCA model keeps 2 modes"), "\(error)")
        }
    }

    func test_run_fineTune_logsBothPhasesAndKeepsBestFineTunedModel() async throws {
        let context = try context()
        try await DeepSSMTrain().run(params(epochs: 2, fineTune: 2), context: context)

        let rows = try String(contentsOf: context.outputURL("log"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(rows.map { String($0[6]) }, ["train", "train", "fine-tune", "fine-tune"])
        let tuned = rows.suffix(2)
        XCTAssertTrue(tuned.allSatisfy { Double($0[2])!.isFinite && Double($0[4]) != nil }, "\(rows)")

        let model = context.outputURL("model")
        let best = try NetworkCheckpoint(contentsOf: model.appendingPathComponent("best_model.h5"))
        let final = try NetworkCheckpoint(contentsOf: model.appendingPathComponent("final_model.h5"))
        XCTAssertEqual(final.attributes["fine_tune_epoch"], .int(2))
        let bestRow = tuned.min { (Double($0[5])!, Int($0[0])!) < (Double($1[5])!, Int($1[0])!) }!
        XCTAssertEqual(best.attributes["fine_tune_epoch"], .int(Int64(bestRow[0])!))
        XCTAssertNotNil(best.attributes["val_particle_rmse_mm"])

        let summary = try JSONSerialization.jsonObject(
            with: Data(contentsOf: model.appendingPathComponent("training.json"))) as! [String: Any]
        XCTAssertEqual(summary["fine_tune_epochs"] as? Int, 2)
        XCTAssertNotNil(context.metrics["fine_tune_best_val_particle_rmse_mm"])
        XCTAssertTrue(context.logs.contains { $0.hasPrefix("fine-tuning 2 epoch(s) on particles (3 particles)") },
                      "\(context.logs)")

        // Fine-tuning moved the weights away from the plain training's.
        let plain = try self.context(memo: "plain")
        try await DeepSSMTrain().run(params(epochs: 2, fineTune: 0), context: plain)
        XCTAssertNotEqual(try finalModel(plain), try finalModel(context))
    }

    func test_run_fineTuneWithoutPCA_failsBeforeTraining() async throws {
        let context = try context(pca: false)
        do {
            try await DeepSSMTrain().run(params(fineTune: 1), context: context)
            XCTFail("the stage did not fail")
        } catch let failure as StageFailure {
            XCTAssertTrue(failure.message.contains("fine_tune_epochs is 1 but no PCA model is connected"), failure.message)
            XCTAssertTrue(failure.message.contains("pca: augment.pca"), failure.message)
        }
        XCTAssertEqual(context.progressCalls, 0, "nothing was trained")
    }

    func test_run_fineTuneKilledThenRerun_resumesAndEqualsUninterrupted() async throws {
        let uninterrupted = try context(memo: "memo-a")
        try await DeepSSMTrain().run(params(fineTune: 2), context: uninterrupted)

        let killed = try context(memo: "memo-b")
        killed.killAfterProgressCalls = 5  // 2 batches per epoch: training, fine-tune 1, dies in fine-tune 2
        do {
            try await DeepSSMTrain().run(params(fineTune: 2), context: killed)
            XCTFail("the run was not interrupted")
        } catch is CancellationError {}

        let resumed = try context(memo: "memo-b")
        try await DeepSSMTrain().run(params(fineTune: 2), context: resumed)
        XCTAssertTrue(resumed.logs.contains("resuming fine-tuning from the checkpoint of fine-tuning epoch 1 of 2"),
                      "\(resumed.logs)")
        XCTAssertEqual(resumed.progressCalls, 2, "only fine-tuning epoch 2 runs again")
        XCTAssertEqual(try finalModel(resumed), try finalModel(uninterrupted))
    }

    func test_run_raisingFineTuneEpochs_reusesTrainingAndEarlierFineTuning() async throws {
        let one = try context()
        try await DeepSSMTrain().run(params(fineTune: 1), context: one)
        XCTAssertEqual(one.progressCalls, 4)
        let two = try context()
        try await DeepSSMTrain().run(params(fineTune: 2), context: two)
        XCTAssertEqual(two.progressCalls, 2, "only fine-tuning epoch 2 is trained")
        let off = try context()
        try await DeepSSMTrain().run(params(fineTune: 0), context: off)
        XCTAssertEqual(off.progressCalls, 0, "the training epoch is reused")
    }

    func test_params_fineTuneValues_validated() {
        var p = DeepSSMTrain.Params()
        p.fine_tune_epochs = -1
        p.fine_tune_learning_rate = 0
        XCTAssertEqual(Set(p.validate().map(\.parameter)), ["fine_tune_epochs", "fine_tune_learning_rate"])
    }
}
