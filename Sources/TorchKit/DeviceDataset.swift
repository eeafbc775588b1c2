import CTorchShim
import Foundation

/// A split of samples held on a network's device as one images tensor
/// `[count, 1, D, H, W]` (float32, or bfloat16 for a network computing in
/// bf16: half the bytes, the same values the bf16 forward pass would see) and
/// one targets tensor `[count, K]` (float32). Training and evaluation batches
/// are then gathered on the device by index: no host reads, no copies per batch.
///
/// Not thread-safe: one owner, beside the network it was made for.
public final class DeviceDataset {
    let handle: OpaquePointer
    public let count: Int
    public let outputCount: Int
    public let inputShape: InputShape
    /// Whether the images are stored as bfloat16.
    public let bf16Images: Bool

    /// The bytes a split of `count` samples takes on the device.
    public static func bytes(count: Int, shape: InputShape, outputs: Int, bf16Images: Bool) -> Int {
        count * (shape.voxelCount * (bf16Images ? 2 : 4) + outputs * 4)
    }

    /// Allocates room for `count` samples on `network`'s device (contents undefined until uploaded).
    public init(network: DeepSSMNetwork, count: Int, bf16Images: Bool = false) throws {
        var created: OpaquePointer? = nil
        try torchCall("put \(count) samples of \(network.inputShape) on \(network.device.rawValue)") {
            ctorch_dataset_create(network.handle, Int64(count), bf16Images ? 1 : 0, &created, $0)
        }
        guard let created else {
            throw TorchError(operation: "create a resident split", message: "the shim returned no split")
        }
        handle = created
        self.count = count
        outputCount = network.outputCount
        inputShape = network.inputShape
        self.bf16Images = bf16Images
    }

    deinit { ctorch_dataset_free(handle) }

    /// Bytes the split holds on its device.
    public var bytes: Int { Int(ctorch_dataset_bytes(handle)) }

    /// Copies samples `first ..< first + n` in: `images` holds n volumes
    /// (x fastest), `targets` n × K scores.
    public func upload(first: Int, images: [Float], targets: [Float]) throws {
        let voxels = inputShape.voxelCount
        guard voxels > 0, !images.isEmpty, images.count % voxels == 0,
              targets.count == images.count / voxels * outputCount else {
            throw TorchError(operation: "upload samples", message:
                "\(images.count) image values and \(targets.count) targets are not whole samples of \(inputShape) and \(outputCount) scores")
        }
        let n = images.count / voxels
        try images.withUnsafeBufferPointer { x in
            try targets.withUnsafeBufferPointer { y in
                try torchCall("upload samples \(first)..<\(first + n)") {
                    ctorch_dataset_upload(handle, Int64(first), Int64(n), x.baseAddress, y.baseAddress, $0)
                }
            }
        }
    }

    /// Free and total memory of `device` in bytes: on CUDA the GPU's, as the
    /// driver reports it; on the CPU `MemAvailable` and `MemTotal` of
    /// /proc/meminfo. `SSMFLOW_DEVICE_MEMORY` (bytes, e.g. `8000000000`) caps
    /// the free memory reported: to leave room for other processes, and in
    /// tests to stand for a small device.
    public static func memory(on device: TorchDevice,
                              environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> (free: Int, total: Int) {
        var free = 0, total = 0
        switch device {
        case .cuda:
            var f: Int64 = 0, t: Int64 = 0
            try torchCall("read the GPU's free memory") { ctorch_cuda_memory(0, &f, &t, $0) }
            (free, total) = (Int(f), Int(t))
        case .cpu, .auto:
            let text = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
            func field(_ name: String) -> Int? {
                guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return nil }
                return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
            }
            total = field("MemTotal") ?? Int(ProcessInfo.processInfo.physicalMemory)
            free = field("MemAvailable") ?? total
        }
        if let text = environment["SSMFLOW_DEVICE_MEMORY"] {
            guard let cap = Int(text.trimmingCharacters(in: .whitespaces)), cap >= 0 else {
                throw TorchError(operation: "read SSMFLOW_DEVICE_MEMORY", message:
                    "'\(text)' is not a number of bytes; set it to e.g. 8000000000 or unset it")
            }
            free = min(free, cap)
        }
        return (free, total)
    }
}

extension DeepSSMNetwork {
    /// One Adam step on the samples at `indices` of `data`, gathered on the
    /// device. With `deferred`, the loss stays queued on the device (read it
    /// with `takeLosses`), the step runs whatever its value, and nil is
    /// returned; else the loss is returned and a non-finite one leaves the
    /// weights, as `trainBatch` does.
    public func trainBatch(_ data: DeviceDataset, indices: [Int], deferred: Bool) throws -> Double? {
        var loss = 0.0
        let positions = indices.map { Int64($0) }
        try positions.withUnsafeBufferPointer { index in
            try torchCall("train a resident batch of \(indices.count)") {
                ctorch_model_train_indexed_batch(handle, data.handle, index.baseAddress, Int64(index.count),
                                                 deferred ? 1 : 0, &loss, $0)
            }
        }
        return deferred ? nil : loss
    }

    /// `trainBatch(images:shape:targets:)` with the loss queued on the device
    /// (read it with `takeLosses`): on CUDA the batch goes through pinned
    /// memory with a non-blocking copy and nothing waits for the GPU.
    public func trainBatchDeferred(images: [Float], shape: InputShape, targets: [Float]) throws {
        guard shape.voxelCount > 0, !images.isEmpty, images.count % shape.voxelCount == 0 else {
            throw TorchError(operation: "train a batch", message:
                "\(images.count) image values are not a whole number of \(shape) volumes")
        }
        let batch = images.count / shape.voxelCount
        try images.withUnsafeBufferPointer { x in
            try targets.withUnsafeBufferPointer { y in
                try torchCall("train a batch of \(batch)") {
                    ctorch_model_train_batch_deferred(handle, x.baseAddress, Int64(batch), Int64(shape.depth),
                                                      Int64(shape.height), Int64(shape.width), y.baseAddress,
                                                      Int64(targets.count / batch), $0)
                }
            }
        }
    }

    /// Number of losses queued on the device.
    public var queuedLosses: Int { Int(ctorch_model_queued_losses(handle)) }

    /// The queued losses, oldest first, read back in one copy (which waits for
    /// the steps that made them); the queue is emptied.
    public func takeLosses() throws -> [Double] {
        var losses = [Double](repeating: 0, count: queuedLosses)
        var count: Int64 = 0
        try losses.withUnsafeMutableBufferPointer { buffer in
            try torchCall("read back \(buffer.count) losses") {
                ctorch_model_take_losses(handle, buffer.baseAddress, Int64(buffer.count), &count, $0)
            }
        }
        return Array(losses.prefix(Int(count)))
    }

    /// Predicted scores of the samples at `indices` of `data`, `indices.count × outputCount`.
    public func evaluateBatch(_ data: DeviceDataset, indices: [Int]) throws -> [Float] {
        var predictions = [Float](repeating: 0, count: indices.count * outputCount)
        let positions = indices.map { Int64($0) }
        try positions.withUnsafeBufferPointer { index in
            try predictions.withUnsafeMutableBufferPointer { out in
                try torchCall("evaluate a resident batch of \(indices.count)") {
                    ctorch_model_evaluate_indexed_batch(handle, data.handle, index.baseAddress, Int64(index.count),
                                                        out.baseAddress, Int64(outputCount), $0)
                }
            }
        }
        return predictions
    }
}
