import Foundation
import TorchKit
import Workflow

/// Before a run computes a stage with a `device` parameter (deepssm-train,
/// deepssm-predict): the device it resolves to works, and its `precision` fits
/// that device. `cuda` (or `auto` on a machine whose libtorch sees a GPU) needs
/// each GPU to run a conv3d forward and backward, so a libtorch without kernels
/// for the card fails here, not hours later. Returns the device, GPU and
/// libtorch for the run record (provenance, not part of any key).
public struct TorchDevicePreflight: RunPreflight {
    public init() {}

    public func concerns(kind: String, params: ParamValue) -> Bool { params.members["device"] != nil }

    public func check(_ stages: [PreflightStage]) throws -> [String: String] {
        var facts: [String: String] = [:]
        var cuda: (library: TorchLibraryInfo, driver: String, gpus: [GPUInfo])?
        for stage in stages {
            guard case .string(let name) = stage.params.members["device"] ?? .string("auto"),
                  let requested = TorchDevice(rawValue: name) else { continue }
            var precision = TorchPrecision.fp32
            if case .string(let text) = stage.params.members["precision"] ?? .null {
                guard let chosen = TorchPrecision(rawValue: text) else {
                    throw PlanError("stage '\(stage.id)': precision '\(text)' is not one of fp32, tf32, bf16")
                }
                precision = chosen
            }
            let device: TorchDevice
            do {
                device = try Torch.resolve(requested)
                if device == .cuda, cuda == nil { cuda = try TorchDeviceCheck.requireCUDA() }
            } catch let error as TorchError {
                throw PlanError("stage '\(stage.id)' asks for device '\(name)': \(error.message)")
            }
            if let refusal = precision.refusal(on: device, gpu: cuda?.gpus.first) {
                throw PlanError("stage '\(stage.id)': \(refusal)")
            }
            facts["device.\(stage.id)"] = device == .cuda ? "cuda:0 \(precision.rawValue)" : "cpu \(precision.rawValue)"
        }
        let library = try? TorchDeviceCheck.library()
        facts["libtorch"] = "\(Torch.version)\(library.map { " (\($0.path))" } ?? "")"
        if let library { facts["cpu_capability"] = library.cpuCapability }
        if let cuda, let gpu = cuda.gpus.first {
            facts["gpu"] = "\(gpu.name), compute capability \(gpu.capability), \(formatBytes(gpu.memoryBytes))"
            facts["cuda_driver"] = cuda.driver
        }
        return facts
    }
}
