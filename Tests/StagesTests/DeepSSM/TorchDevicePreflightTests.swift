import Foundation
import TorchKit
import Workflow
import XCTest
@testable import Stages

/// The check before a run computes deepssm-train / deepssm-predict, and the
/// `precision` parameter's place in the stage key.
final class TorchDevicePreflightTests: XCTestCase {
    private func stage(_ id: String, _ members: [String: ParamValue]) -> PreflightStage {
        PreflightStage(id: id, kind: "deepssm-train", params: .object(members))
    }

    func test_concerns_stagesWithADeviceParameter() {
        let check = TorchDevicePreflight()
        XCTAssertTrue(check.concerns(kind: "deepssm-train", params: .object(["device": .string("cpu")])))
        XCTAssertFalse(check.concerns(kind: "augment", params: .object(["seed": .int(1)])))
    }

    func test_cpu_fp32_passes_andRecordsDeviceAndLibtorch() throws {
        let facts = try TorchDevicePreflight().check([stage("deepssm-train", ["device": .string("cpu")])])
        XCTAssertEqual(facts["device.deepssm-train"], "cpu fp32")
        XCTAssertTrue(facts["libtorch"]?.hasPrefix(Torch.version) == true, "\(facts)")
        XCTAssertNotNil(facts["cpu_capability"])
    }

    func test_cuda_withoutAUsableGPU_isRefusedBeforeWork() throws {
        guard !Torch.builtWithCUDA || Torch.cudaDeviceCount == 0 else {
            throw XCTSkip("this libtorch sees a GPU; the refusal is checked on machines without one")
        }
        XCTAssertThrowsError(try TorchDevicePreflight().check([stage("deepssm-train", ["device": .string("cuda")])])) { error in
            XCTAssertTrue(error is PlanError, "\(type(of: error))")
            let message = "\(error)"
            XCTAssertTrue(message.contains("stage 'deepssm-train' asks for device 'cuda'"), message)
            XCTAssertTrue(message.contains("use device 'cpu'"), message)
        }
    }

    func test_bf16AndTF32_onTheCPU_areRefusedBeforeWork() throws {
        for precision in ["bf16", "tf32"] {
            let stages = [stage("deepssm-predict", ["device": .string("cpu"), "precision": .string(precision)])]
            XCTAssertThrowsError(try TorchDevicePreflight().check(stages)) { error in
                XCTAssertTrue(error is PlanError)
                let message = "\(error)"
                XCTAssertTrue(message.contains("stage 'deepssm-predict': precision '\(precision)' needs a CUDA GPU"), message)
                XCTAssertTrue(message.contains("use precision 'fp32'"), message)
            }
        }
    }

    func test_precision_leftOut_staysOutOfTheKey_andBadValuesAreIssues() throws {
        let train = StageKind(DeepSSMTrain.self)
        XCTAssertEqual(train.optionalParameters, ["precision", "residency", "precise_bn_samples", "loss_weights"]
                       + DeepSSMTrain.Params.tlParameterNames,
                       "a workflow may set them")
        XCTAssertEqual(StageKind(DeepSSMPredict.self).optionalParameters, ["precision", "subjects", "tta", "tta_rotation", "tta_shift"])
        let (defaults, issues) = try train.resolve(try train.defaults())
        XCTAssertTrue(issues.isEmpty)
        XCTAssertNil(defaults.members["precision"], "a default precision would change every existing key")
        XCTAssertNil(defaults.members["precise_bn_samples"], "left out, precise batch norm changes no existing key")
        XCTAssertNil(defaults.members["loss_weights"], "left out, the loss weights change no existing key")
        let (set, _) = try train.resolve(try train.defaults().overlaid(with: .object(["precision": .string("bf16")])))
        XCTAssertEqual(set.members["precision"], .string("bf16"))
        let predict = StageKind(DeepSSMPredict.self)
        let (_, bad) = try predict.resolve(try predict.defaults().overlaid(with: .object(["precision": .string("fp16")])))
        XCTAssertEqual(bad.map(\.parameter), ["precision"])
        XCTAssertTrue(bad.first?.message.contains("use fp32, tf32 (CUDA) or bf16 (CUDA)") == true)
    }

    func test_outOfMemory_namesBatchSizeAndPrecision() {
        let advice = StagePrecision.outOfMemoryAdvice(TorchError(operation: "train batch", message: "libtorch: CUDA out of memory. Tried to allocate 2.00 GiB"))
        XCTAssertTrue(advice.contains("lower batch_size"), advice)
        XCTAssertTrue(advice.contains("precision: bf16"), advice)
        XCTAssertEqual(StagePrecision.outOfMemoryAdvice(TorchError(operation: "x", message: "other")), "")
    }
}
