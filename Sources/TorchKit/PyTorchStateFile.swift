import CTorchShim
import Foundation

/// A PyTorch file of named tensors (what Python's `torch.save(state_dict, path)`
/// writes and `torch.load(path)` reads back as a dict), written by libtorch's
/// own serializer.
public enum PyTorchStateFile {
    /// Writes `tensors` to `url` as one name → tensor dictionary, in order.
    /// Fails naming the file when it cannot be written; a tensor whose value
    /// count does not match its shape is a caller bug.
    public static func write(_ tensors: [StateTensor], to url: URL) throws {
        let rank = Int(CTORCH_MAX_RANK)
        var shapes = [Int64](repeating: 0, count: rank * tensors.count)
        for (i, tensor) in tensors.enumerated() {
            precondition(tensor.shape.count <= rank, "tensor '\(tensor.name)' has rank \(tensor.shape.count)")
            precondition(tensor.shape.reduce(1, *) == tensor.values.count,
                         "tensor '\(tensor.name)' has \(tensor.values.count) values for shape \(tensor.shape)")
            for (d, extent) in tensor.shape.enumerated() { shapes[rank * i + d] = Int64(extent) }
        }
        let ranks = tensors.map { Int32($0.shape.count) }
        let dtypes = tensors.map { $0.values.dtype }
        // C strings and value buffers that stay alive for the call.
        let names: [UnsafeMutablePointer<CChar>] = tensors.map { tensor in
            guard let copy = strdup(tensor.name) else { preconditionFailure("out of memory copying a tensor name") }
            return copy
        }
        defer { names.forEach { free($0) } }
        let buffers: [UnsafeMutableRawPointer] = tensors.map { tensor in
            let bytes = max(1, tensor.values.byteCount)
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
            tensor.values.withUnsafeRawPointer { source in
                if let source, tensor.values.byteCount > 0 { buffer.copyMemory(from: source, byteCount: tensor.values.byteCount) }
            }
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        let constNames = names.map { UnsafePointer<CChar>($0) }
        let constBuffers = buffers.map { UnsafeRawPointer($0) as UnsafeRawPointer? }
        try torchCall("write the PyTorch file \(url.path)") { error in
            constNames.map { Optional($0) }.withUnsafeBufferPointer { namePointers in
                constBuffers.withUnsafeBufferPointer { valuePointers in
                    ctorch_save_tensor_dict(url.path, Int64(tensors.count), namePointers.baseAddress, dtypes, ranks,
                                            shapes, valuePointers.baseAddress, error)
                }
            }
        }
    }
}

extension StateTensor.Values {
    /// The size of the values in bytes.
    var byteCount: Int {
        switch self {
        case .float32(let v): v.count * 4
        case .float64(let v): v.count * 8
        case .int64(let v): v.count * 8
        case .uint8(let v): v.count
        }
    }
}
