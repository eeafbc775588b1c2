import TorchKit
import Workflow

/// The `precision` parameter of deepssm-train and deepssm-predict: absent
/// means fp32, and stays out of the stage key (an optional is not encoded when
/// nil), so keys and CPU bytes are those of before the parameter existed.
enum StagePrecision {

    static func issue(_ value: String?) -> ParameterIssue? {
        guard let value, TorchPrecision(rawValue: value) == nil else { return nil }
        return ParameterIssue("precision", "'\(value)' is not a precision; use fp32, tf32 (CUDA) or bf16 (CUDA)")
    }

    /// Sets the network's precision; fp32 on the CPU is libtorch's default and
    /// is left untouched. Refuses, as a stage failure, what the device cannot do.
    static func apply(_ value: String?, to network: DeepSSMNetwork) throws {
        let precision = value.flatMap(TorchPrecision.init(rawValue:)) ?? .fp32
        guard precision != .fp32 || network.device == .cuda else { return }
        do {
            try network.setPrecision(precision)
        } catch let error as TorchError {
            throw StageFailure(error.message)
        }
    }

    /// What to change when libtorch ran out of GPU memory ("" otherwise).
    static func outOfMemoryAdvice(_ error: TorchError) -> String {
        guard error.message.localizedCaseInsensitiveContains("out of memory") else { return "" }
        return "; the GPU ran out of memory: lower batch_size (deepssm-loaders.batch_size, which deepssm-train and deepssm-predict take), or use precision: bf16 (half the activation memory) on a GPU of compute capability 8.0+"
    }
}
