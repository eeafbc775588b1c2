import CTorchShim

/// A failure reported by libtorch or by the shim around it, with the
/// operation that failed (`train batch`, `load state 'conv1.weight'`, ...).
public struct TorchError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What was being done, e.g. `create the deepssm network`.
    public var operation: String
    /// The shim's or libtorch's message: what went wrong and how to fix it.
    public var message: String

    public init(operation: String, message: String) {
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }
}

/// Runs one fallible shim call and turns its status and caller-owned message
/// into a `TorchError`; the message is freed with `ctorch_free_string`.
func torchCall(
    _ operation: @autoclosure () -> String,
    _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> ctorch_status
) throws {
    var error: UnsafeMutablePointer<CChar>? = nil
    let status = body(&error)
    defer { ctorch_free_string(error) }
    guard status == CTORCH_OK else {
        let message = error.map { String(cString: $0) } ?? "libtorch reported a failure without a message"
        throw TorchError(operation: operation(), message: message)
    }
}
