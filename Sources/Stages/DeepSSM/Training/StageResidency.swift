import Foundation
import TorchKit
import Workflow

/// The `residency` parameter of deepssm-train: where the training and
/// validation splits live while the network trains. It never changes the
/// bytes (a resident batch holds the same floats as a streamed one), so it
/// stays out of the stage key and the epoch memo keys.
///
/// - `auto` (default): resident on a CUDA device when both splits fit its
///   free memory, else streamed; streamed on the CPU (the data is in host
///   memory either way).
/// - `device`: resident, or a clear failure before training when they do not fit.
/// - `stream`: batches read from the loaders' HDF5 files by a prefetch thread.
enum StageResidency: String, CaseIterable {
    case auto, device, stream

    /// The memory kept free beside the splits: the CUDA context and cuDNN
    /// workspaces (1 GiB) plus the activations and gradients of one training
    /// batch, about 48 float32 values per input voxel and sample (the first
    /// block's three 12-channel outputs, their gradients and the rest).
    static func margin(batchSize: Int, shape: InputShape) -> Int {
        (1 << 30) + batchSize * shape.voxelCount * 4 * 48
    }

    static func issue(_ value: String, augmentation: Bool) -> ParameterIssue? {
        guard let residency = StageResidency(rawValue: value) else {
            return ParameterIssue("residency", "'\(value)' is not a residency; use auto, device or stream")
        }
        if residency == .device && augmentation {
            return ParameterIssue("residency", "'device' cannot go with intensity_augmentation, which changes each training image on the host; use residency auto or stream, or turn the augmentation off")
        }
        return nil
    }

    /// Whether the splits go on the device: decided from the device's free
    /// memory (`memory`, nil to read it) for `auto` on CUDA and for `device`.
    /// Throws, naming the sizes and the fixes, when `device` does not fit.
    func resident(device: TorchDevice, train: Int, validation: Int, shape: InputShape, outputs: Int,
                  batchSize: Int, bf16Images: Bool, augmentation: Bool,
                  memory: (free: Int, total: Int)? = nil) throws -> (resident: Bool, reason: String) {
        switch self {
        case .stream: return (false, "residency: stream")
        case .auto where device != .cuda: return (false, "on the CPU the batches are streamed unless residency is device")
        case .auto where augmentation: return (false, "intensity_augmentation changes the training images on the host")
        default: break
        }
        let need = DeviceDataset.bytes(count: train + validation, shape: shape, outputs: outputs, bf16Images: bf16Images)
        let margin = Self.margin(batchSize: batchSize, shape: shape)
        let (free, total): (Int, Int)
        do {
            (free, total) = try memory ?? DeviceDataset.memory(on: device)
        } catch let error as TorchError {
            throw StageFailure(error.description)
        }
        let sizes = "\(train) + \(validation) images of \(shape) in \(bf16Images ? "bf16" : "fp32") take \(Self.gib(need)) on \(device.rawValue), plus \(Self.gib(margin)) kept free for the batch of \(batchSize); \(Self.gib(free)) of \(Self.gib(total)) are free"
        if need + margin <= free { return (true, sizes) }
        if self == .device {
            throw StageFailure("residency: device does not fit: \(sizes); use residency: auto or stream (batches read from the loader files)\(bf16Images || device != .cuda ? "" : ", precision: bf16 (half the image bytes)"), or fewer samples in deepssm-loaders")
        }
        return (false, "the splits do not fit: \(sizes)")
    }

    static func gib(_ bytes: Int) -> String { String(format: "%.2f GiB", Double(bytes) / Double(1 << 30)) }
}
