import Foundation
import HDF5Kit
import TorchKit
import Workflow
import XCTest
@testable import Stages
@testable import ShapeModel

/// `deepssm-train` with `variant: tl` (TL-DeepSSM), and `deepssm-predict` on its model.
final class TLDeepSSMTrainTests: XCTestCase {
    private var fixture: TrainingFixture!
    private var root: URL { fixture.root }
    private var loaders: URL { fixture.loaders }
    private var pca: URL { fixture.pca }

    override func setUpWithError() throws {
        fixture = try TrainingFixture("tl-deepssm-train-tests") {
            $0.scoreMean = [0.5, -1]
            $0.scoreStd = [3, 2]
        }
    }

    override func tearDownWithError() throws { fixture.remove() }

    private func params(ae: Int = 2, tf: Int = 1, joint: Int = 2) -> DeepSSMTrain.Params {
        TrainingFixture.params {
            $0.variant = "tl"
            $0.tl_ae_epochs = ae
            $0.tl_tf_epochs = tf
            $0.tl_joint_epochs = joint
        }
    }

    private func context(memo: String = "memo", pca: Bool = true) throws -> DeepSSMTestContext {
        try fixture.context(memo: memo, pca: pca)
    }

    private func model(_ context: DeepSSMTestContext, _ which: String = "final") throws -> Data {
        try Data(contentsOf: context.outputURL("model").appendingPathComponent("\(which)_model.h5"))
    }

    func test_run_trainsThePhasesInOrder_andWritesATLModel() async throws {
        let context = try context()
        try await DeepSSMTrain().run(params(), context: context)

        let rows = try String(contentsOf: context.outputURL("log"), encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(rows.map { String($0.split(separator: ",")[0]) },
                       ["autoencoder", "autoencoder", "tflank", "joint", "joint"])
        let model = context.outputURL("model")
        let final = try NetworkCheckpoint(contentsOf: model.appendingPathComponent("final_model.h5"))
        XCTAssertTrue(final.isTL)
        XCTAssertEqual(final.particleValues, 9)
        XCTAssertEqual(final.outputCount, 2, "the latent size defaults to K")
        XCTAssertFalse(final.tensors.contains { $0.name.hasPrefix("optimizer/") })
        let best = try NetworkCheckpoint(contentsOf: model.appendingPathComponent("best_model.h5"))
        XCTAssertTrue(best.isTL)
        XCTAssertNotNil(best.attributes["val_rel_error"])
        let summary = try JSONSerialization.jsonObject(
            with: Data(contentsOf: model.appendingPathComponent("training.json"))) as! [String: Any]
        XCTAssertEqual(summary["variant"] as? String, "tl")
        XCTAssertEqual(summary["tl_joint_epochs"] as? Int, 2)
        XCTAssertNotNil(context.metrics["tl_val_prediction_rmse_mm"])
        XCTAssertEqual(context.progressCalls, 5 * 2, "five epochs of two batches")
    }

    func test_run_raisingJointEpochs_resumes_andEqualsAStraightRun() async throws {
        let straight = try context(memo: "memo-a")
        try await DeepSSMTrain().run(params(joint: 2), context: straight)

        let shorter = try context(memo: "memo-b")
        try await DeepSSMTrain().run(params(joint: 1), context: shorter)
        let longer = try context(memo: "memo-b")
        try await DeepSSMTrain().run(params(joint: 2), context: longer)
        XCTAssertEqual(longer.progressCalls, 2, "only joint epoch 2 is trained")
        XCTAssertTrue(longer.logs.contains("resuming from the checkpoint of joint epoch 1"), "\(longer.logs)")
        XCTAssertEqual(try model(longer), try model(straight))
        XCTAssertEqual(try model(longer, "best"), try model(straight, "best"))
        XCTAssertEqual(try Data(contentsOf: longer.outputURL("log")), try Data(contentsOf: straight.outputURL("log")))
    }

    func test_run_killedInTheTFlank_resumesFromTheAutoencoder() async throws {
        let straight = try context(memo: "memo-a")
        try await DeepSSMTrain().run(params(), context: straight)
        let killed = try context(memo: "memo-b")
        killed.killAfterProgressCalls = 5  // autoencoder 1 and 2, dies in the T-flank epoch
        do {
            try await DeepSSMTrain().run(params(), context: killed)
            XCTFail("the run was not interrupted")
        } catch is CancellationError {}
        let resumed = try context(memo: "memo-b")
        try await DeepSSMTrain().run(params(), context: resumed)
        XCTAssertTrue(resumed.logs.contains("resuming from the checkpoint of autoencoder epoch 2"), "\(resumed.logs)")
        XCTAssertEqual(try model(resumed), try model(straight))
    }

    func test_predict_withATLModel_writesItsParticles() async throws {
        let train = try context()
        try await DeepSSMTrain().run(params(ae: 1, tf: 1, joint: 1), context: train)
        let modelDirectory = train.outputURL("model")
        let predict = try DeepSSMTestContext(root: root, inputs: ["model": modelDirectory, "loaders": loaders, "pca": pca],
                                             memoDirectory: root.appendingPathComponent("memo-predict"))
        var p = DeepSSMPredict.Params()
        p.device = "cpu"
        p.threads = 1
        try await DeepSSMPredict().run(p, context: predict)
        let stack = try SampleStack(contentsOf: predict.outputURL("predictions").appendingPathComponent("predictions.h5"))
        let world = try stack.sample("particles_world", 0, as: Double.self)
        // The prediction is the TL model's own: image encoder → decoder.
        let network = try NetworkCheckpoint(contentsOf: modelDirectory.appendingPathComponent("best_model.h5")).makeTLNetwork()
        let test = try LoaderArtifact(loaders).reader(.test, batchSize: 1)
        let batches = test.batches(epoch: 0)
        defer { batches.stop() }
        let first = try XCTUnwrap(try batches.next())
        let expected = try network.predict(images: first.images).particles
        let index = try XCTUnwrap(stack.ids.firstIndex(of: first.ids[0]))
        let stored = try stack.sample("particles_world", index, as: Double.self)
        XCTAssertEqual(world.count, 9)
        for (s, e) in zip(stored, expected) { XCTAssertEqual(s, Double(e), accuracy: 1e-5) }
    }

    func test_validate_badTLParameters_nameEachAndTheFix() {
        var p = params(ae: -1, tf: 0, joint: 0)
        p.tl_latent_dim = 0
        p.tl_alpha = -1
        p.fine_tune_epochs = 2
        p.early_stopping = true
        p.precise_bn_samples = 8
        p.loss_weights = "variance"
        let issues = p.validate()
        let named = Dictionary(issues.map { ($0.parameter, $0.message) }, uniquingKeysWith: { $0 + "; " + $1 })
        XCTAssertEqual(Set(named.keys), ["tl_ae_epochs", "tl_tf_epochs", "tl_latent_dim", "tl_alpha", "fine_tune_epochs",
                                         "early_stopping", "precise_bn_samples", "loss_weights"])
        XCTAssertTrue(named["tl_tf_epochs"]!.contains("the image encoder would never be trained"), named["tl_tf_epochs"]!)
        XCTAssertTrue(named["fine_tune_epochs"]!.contains("set fine_tune_epochs to 0"), named["fine_tune_epochs"]!)
        XCTAssertTrue(named["precise_bn_samples"]!.contains("remove precise_bn_samples"), named["precise_bn_samples"]!)
        XCTAssertTrue(named["loss_weights"]!.contains("already trains on particles: remove loss_weights"), named["loss_weights"]!)

        var unknown = DeepSSMTrain.Params()
        unknown.variant = "tl2"
        XCTAssertEqual(unknown.validate().map(\.message), ["'tl2' is not a variant; use base (the DeepSSM network) or tl (TL-DeepSSM)"])
        var stray = DeepSSMTrain.Params()
        stray.tl_alpha = 2
        XCTAssertEqual(stray.validate().map(\.parameter), ["tl_alpha"])
        XCTAssertTrue(stray.validate()[0].message.contains("add `variant: tl`"))
    }

    /// Left out, the variant and its parameters are not in the encoded
    /// parameters, so every base stage key stays what it was.
    func test_defaults_leaveTheTLParametersOutOfTheKey() throws {
        let defaults = try ParamValue.encoding(DeepSSMTrain.Params())
        for name in DeepSSMTrain.Params.tlParameterNames { XCTAssertNil(defaults.members[name], name) }
        XCTAssertTrue(Set(DeepSSMTrain.Params.optionalParameters).isSuperset(of: DeepSSMTrain.Params.tlParameterNames))
        let base = DeepSSMTrain.inputs(for: DeepSSMTrain.Params(), connected: ["loaders"])
        XCTAssertEqual(base.first { $0.name == "pca" }?.isOptional, true)
        let tl = DeepSSMTrain.inputs(for: params(), connected: ["loaders"])
        XCTAssertEqual(tl.first { $0.name == "pca" }?.isOptional, false, "variant tl needs the PCA model")
    }

    func test_run_withoutPCA_failsBeforeTraining() async throws {
        let context = try context(pca: false)
        do {
            try await DeepSSMTrain().run(params(), context: context)
            XCTFail("the stage did not fail")
        } catch let failure as StageFailure {
            XCTAssertTrue(failure.message.contains("add `pca: augment.pca`"), failure.message)
        }
        XCTAssertEqual(context.progressCalls, 0)
    }

    /// Through the command line: the plan refuses `variant: tl` without the
    /// PCA model, and an unknown variant, with exit 2 and the fix.
    func test_plan_refusesTLWithoutPCA_andUnknownVariant() throws {
        let workflow = try String(contentsOf: SSMFlowProcess.repository.appendingPathComponent("workflows/femur_deepssm.yaml"),
                                  encoding: .utf8)
        let withoutPCA = workflow.replacingOccurrences(of: "inputs: {loaders: deepssm-loaders.loaders, pca: augment.pca}",
                                                       with: "inputs: {loaders: deepssm-loaders.loaders}")
        XCTAssertNotEqual(withoutPCA, workflow, "the workflow connects deepssm-train's inputs as expected")
        let file = root.appendingPathComponent("no-pca.yaml")
        try withoutPCA.write(to: file, atomically: true, encoding: .utf8)
        let missing = try SSMFlowProcess.run(["plan", file.path, "--set", "deepssm-train.variant=tl"], in: root)
        XCTAssertEqual(missing.status, 2, missing.output)
        XCTAssertTrue(missing.output.contains("needs input 'pca'"), missing.output)
        XCTAssertTrue(missing.output.contains("pca: STAGE.OUTPUT"), missing.output)
        let base = try SSMFlowProcess.run(["plan", file.path], in: root)
        XCTAssertEqual(base.status, 0, base.output)

        let workflowPath = SSMFlowProcess.repository.appendingPathComponent("workflows/femur_deepssm.yaml").path
        let unknown = try SSMFlowProcess.run(["plan", workflowPath, "--set", "deepssm-train.variant=tl3"], in: root)
        XCTAssertEqual(unknown.status, 2, unknown.output)
        XCTAssertTrue(unknown.output.contains("parameter 'variant' of stage 'deepssm-train': 'tl3' is not a variant"),
                      unknown.output)
        let negative = try SSMFlowProcess.run(["plan", workflowPath, "--set", "deepssm-train.variant=tl",
                                               "--set", "deepssm-train.tl_joint_epochs=-1"], in: root)
        XCTAssertEqual(negative.status, 2, negative.output)
        XCTAssertTrue(negative.output.contains("tl_joint_epochs"), negative.output)
    }
}
