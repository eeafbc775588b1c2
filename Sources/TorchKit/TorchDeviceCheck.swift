import CTorchShim
import Foundation

/// The arithmetic of the network's passes: `fp32` everywhere; `tf32` and
/// `bf16` (autocast) on CUDA GPUs of compute capability 8.0 or newer.
public enum TorchPrecision: String, Sendable, Codable, CaseIterable {
    case fp32, tf32, bf16

    var cValue: ctorch_precision {
        switch self {
        case .fp32: CTORCH_FP32
        case .tf32: CTORCH_TF32
        case .bf16: CTORCH_BF16
        }
    }

    /// Why `device` (with `gpu`'s capability on CUDA) cannot use this precision, or nil.
    public func refusal(on device: TorchDevice, gpu: GPUInfo?) -> String? {
        guard self != .fp32 else { return nil }
        guard device == .cuda else {
            return "precision '\(rawValue)' needs a CUDA GPU of compute capability 8.0 or newer, but the stage runs on the CPU; use precision 'fp32' (the default) on the CPU"
        }
        if let gpu, gpu.major < 8 {
            return "precision '\(rawValue)' needs compute capability 8.0 or newer, but GPU \(gpu.index) (\(gpu.name)) has \(gpu.capability); use precision 'fp32' on this GPU"
        }
        return nil
    }
}

/// One GPU as the CUDA driver sees it.
public struct GPUInfo: Sendable, Equatable {
    public var index: Int
    public var name: String
    public var memoryBytes: Int64
    public var major: Int
    public var minor: Int
    /// `9.0`-style compute capability.
    public var capability: String { "\(major).\(minor)" }
}

/// The loaded libtorch.
public struct TorchLibraryInfo: Sendable {
    public var version: String
    /// The file that holds its CPU kernels (libtorch_cpu.so).
    public var path: String
    /// The CPU instruction set its kernels use, e.g. `AVX512`.
    public var cpuCapability: String
    public var builtWithCUDA: Bool

    /// Whether the libtorch folder has CUDA kernels that this build did not
    /// link (a wheel installed without its nvidia-* wheels).
    public var hasUnlinkedCUDA: Bool {
        !builtWithCUDA && FileManager.default.fileExists(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("libtorch_cuda.so").path)
    }
}

/// What `ssmflow doctor` and the check before a CUDA run look at: the
/// libtorch, the CUDA driver, each GPU, and a real conv3d forward and backward.
public enum TorchDeviceCheck {
    public static func library() throws -> TorchLibraryInfo {
        var path: UnsafeMutablePointer<CChar>? = nil
        var capability: UnsafeMutablePointer<CChar>? = nil
        defer { ctorch_free_string(path); ctorch_free_string(capability) }
        try torchCall("describe the loaded libtorch") { ctorch_library_info(&path, &capability, $0) }
        return TorchLibraryInfo(version: Torch.version, path: path.map { String(cString: $0) } ?? "unknown",
                                cpuCapability: capability.map { String(cString: $0) } ?? "unknown",
                                builtWithCUDA: Torch.builtWithCUDA)
    }

    /// The driver's version (`13.0`) and GPU count; throws saying why there is no usable driver.
    public static func driver() throws -> (version: String, gpuCount: Int) {
        var version: Int32 = 0
        var count: Int32 = 0
        try torchCall("query the CUDA driver") { ctorch_cuda_driver(&version, &count, $0) }
        return ("\(version / 1000).\((version % 1000) / 10)", Int(count))
    }

    public static func gpu(_ index: Int) throws -> GPUInfo {
        var name: UnsafeMutablePointer<CChar>? = nil
        defer { ctorch_free_string(name) }
        var memory: Int64 = 0
        var major: Int32 = 0
        var minor: Int32 = 0
        try torchCall("describe GPU \(index)") {
            ctorch_cuda_device_info(Int32(index), &name, &memory, &major, &minor, $0)
        }
        return GPUInfo(index: index, name: name.map { String(cString: $0) } ?? "unknown",
                       memoryBytes: memory, major: Int(major), minor: Int(minor))
    }

    /// Runs a small conv3d forward and backward on the CPU or CUDA GPU `index`; returns seconds.
    public static func probe(_ device: TorchDevice, index: Int = 0) throws -> Double {
        var seconds = 0.0
        let name = device == .cuda ? "cuda:\(index)" : "cpu"
        try torchCall("run a conv3d forward and backward on \(name)") {
            ctorch_device_probe(device.cValue, Int32(index), &seconds, $0)
        }
        return seconds
    }

    /// The fix when `library` cannot use CUDA although the driver sees GPUs.
    public static func cudaFix(_ library: TorchLibraryInfo) -> String {
        if library.hasUnlinkedCUDA {
            return "this libtorch (\(library.version), \(library.path)) has CUDA kernels but its CUDA libraries did not load when libSSMFlowTorch.so was built (a wheel installed without its nvidia-* dependencies); run `scripts/setup.sh --torch-wheel` (it installs torch with them and rebuilds) and set SSMFLOW_NATIVE_DIR=.build-torch/lib"
        }
        return "this libtorch (\(library.version), \(library.path)) was built without CUDA; run `scripts/setup.sh --torch-wheel` to build against PyPI's CUDA torch and set SSMFLOW_NATIVE_DIR=.build-torch/lib, or use device 'cpu'"
    }

    /// The fix when the conv3d check fails on `gpu` (typically: no kernels for its architecture).
    public static func kernelFix(_ library: TorchLibraryInfo, gpu: GPUInfo) -> String {
        "this libtorch (\(library.version)) cannot run on GPU \(gpu.index) (\(gpu.name), compute capability \(gpu.capability)): install a PyTorch wheel built for compute capability \(gpu.capability) (one whose `torch.cuda.get_arch_list()` lists sm_\(gpu.major)\(gpu.minor)), rebuild with `scripts/setup.sh --torch-wheel`, or use device 'cpu'"
    }

    /// Before work on CUDA: the GPUs are visible to this libtorch and each runs
    /// the conv3d check. Returns them; throws `TorchError` with the fix.
    public static func requireCUDA() throws -> (library: TorchLibraryInfo, driver: String, gpus: [GPUInfo]) {
        let library = try library()
        let driver: (version: String, gpuCount: Int)
        do { driver = try self.driver() } catch let error as TorchError {
            throw TorchError(operation: "check the CUDA device", message: error.message)
        }
        guard driver.gpuCount > 0 else {
            throw TorchError(operation: "check the CUDA device",
                             message: "device 'cuda' was requested but the CUDA driver \(driver.version) sees no GPU; check CUDA_VISIBLE_DEVICES and nvidia-smi, or use device 'cpu'")
        }
        guard library.builtWithCUDA else {
            throw TorchError(operation: "check the CUDA device", message: "the CUDA driver sees \(driver.gpuCount) GPU(s) but " + cudaFix(library))
        }
        var gpus: [GPUInfo] = []
        for index in 0..<driver.gpuCount {
            let gpu = try self.gpu(index)
            do { _ = try probe(.cuda, index: index) } catch let error as TorchError {
                throw TorchError(operation: "check GPU \(index)", message: "\(error.message); " + kernelFix(library, gpu: gpu))
            }
            gpus.append(gpu)
        }
        return (library, driver.version, gpus)
    }
}
