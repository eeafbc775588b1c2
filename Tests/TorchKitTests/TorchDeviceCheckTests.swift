import Foundation
import XCTest
@testable import TorchKit

/// `ssmflow doctor`'s pieces on the real libtorch this build loads.
final class TorchDeviceCheckTests: XCTestCase {
    func test_library_namesVersionFileAndCPUCapability() throws {
        let library = try TorchDeviceCheck.library()
        XCTAssertEqual(library.version, Torch.version)
        XCTAssertTrue(library.path.hasSuffix(".so") || library.path.contains(".so."), library.path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: library.path), library.path)
        XCTAssertNotEqual(library.cpuCapability, "unknown")
    }

    func test_probe_runsConv3dForwardAndBackwardOnTheCPU() throws {
        let seconds = try TorchDeviceCheck.probe(.cpu)
        XCTAssertGreaterThan(seconds, 0)
    }

    func test_driver_withoutNVIDIADriver_saysWhy_elseCountsGPUs() throws {
        let hasDriver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL) != nil
        if hasDriver {
            let driver = try TorchDeviceCheck.driver()
            for index in 0..<driver.gpuCount {
                let gpu = try TorchDeviceCheck.gpu(index)
                XCTAssertFalse(gpu.name.isEmpty)
                XCTAssertGreaterThan(gpu.memoryBytes, 0)
                XCTAssertGreaterThanOrEqual(gpu.major, 3)
            }
        } else {
            XCTAssertThrowsError(try TorchDeviceCheck.driver()) { error in
                let message = (error as? TorchError)?.message ?? "\(error)"
                XCTAssertTrue(message.contains("libcuda.so.1"), message)
                XCTAssertTrue(message.contains("install the NVIDIA driver"), message)
            }
            XCTAssertThrowsError(try TorchDeviceCheck.requireCUDA()) { error in
                XCTAssertTrue("\(error)".contains("libcuda.so.1"), "\(error)")
            }
        }
    }

    func test_probe_onCUDAWithoutCUDA_failsSayingWhy() throws {
        guard !Torch.builtWithCUDA || Torch.cudaDeviceCount == 0 else {
            throw XCTSkip("this libtorch sees a GPU; the refusal is checked on machines without one")
        }
        XCTAssertThrowsError(try TorchDeviceCheck.probe(.cuda)) { error in
            let message = (error as? TorchError)?.message ?? "\(error)"
            XCTAssertTrue(message.contains("device 'cuda' was requested"), message)
            XCTAssertTrue(message.contains("use device 'cpu'"), message)
        }
    }

    func test_precision_tf32AndBF16_areRefusedOnTheCPU_byTheShim() throws {
        let network = try DeepSSMNetwork(inputShape: InputShape(depth: 60, height: 60, width: 60),
                                         outputCount: 3, seed: 1, device: .cpu)
        try network.setPrecision(.fp32)
        for precision in [TorchPrecision.tf32, .bf16] {
            XCTAssertThrowsError(try network.setPrecision(precision)) { error in
                let message = (error as? TorchError)?.message ?? "\(error)"
                XCTAssertTrue(message.contains("precision '\(precision.rawValue)' needs a CUDA GPU"), message)
                XCTAssertTrue(message.contains("use precision 'fp32' on the CPU"), message)
            }
        }
    }

    func test_precisionRefusal_namesTheDeviceAndTheFix() {
        XCTAssertNil(TorchPrecision.fp32.refusal(on: .cpu, gpu: nil))
        XCTAssertTrue(TorchPrecision.bf16.refusal(on: .cpu, gpu: nil)?.contains("runs on the CPU") == true)
        let volta = GPUInfo(index: 0, name: "Tesla V100", memoryBytes: 16 << 30, major: 7, minor: 0)
        let refusal = TorchPrecision.bf16.refusal(on: .cuda, gpu: volta) ?? ""
        XCTAssertTrue(refusal.contains("GPU 0 (Tesla V100) has 7.0"), refusal)
        XCTAssertTrue(refusal.contains("use precision 'fp32'"), refusal)
        let hopper = GPUInfo(index: 0, name: "H100", memoryBytes: 80 << 30, major: 9, minor: 0)
        XCTAssertNil(TorchPrecision.bf16.refusal(on: .cuda, gpu: hopper))
        XCTAssertNil(TorchPrecision.tf32.refusal(on: .cuda, gpu: hopper))
    }

    func test_fixes_nameTheRouteToACUDALibtorch() throws {
        let library = try TorchDeviceCheck.library()
        XCTAssertTrue(TorchDeviceCheck.cudaFix(library).contains("scripts/setup.sh --torch-wheel"))
        let gpu = GPUInfo(index: 1, name: "B200", memoryBytes: 1, major: 10, minor: 0)
        let fix = TorchDeviceCheck.kernelFix(library, gpu: gpu)
        XCTAssertTrue(fix.contains("compute capability 10.0"), fix)
        XCTAssertTrue(fix.contains("sm_100"), fix)
    }
}
