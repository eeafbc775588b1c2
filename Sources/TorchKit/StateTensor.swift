import CTorchShim

/// One named tensor of a model's state: a parameter, a buffer or a piece of
/// optimizer state, named as in a PyTorch `state_dict` (`conv1.weight`,
/// `bn1.running_var`, `optimizer/fc1.bias/exp_avg`).
public struct StateTensor: Equatable, Sendable {
    /// The element values, row-major, in the tensor's own type.
    public enum Values: Equatable, Sendable {
        case float32([Float])
        case float64([Double])
        case int64([Int64])
        case uint8([UInt8])

        public var count: Int {
            switch self {
            case .float32(let v): v.count
            case .float64(let v): v.count
            case .int64(let v): v.count
            case .uint8(let v): v.count
            }
        }

        var dtype: ctorch_dtype {
            switch self {
            case .float32: CTORCH_FLOAT32
            case .float64: CTORCH_FLOAT64
            case .int64: CTORCH_INT64
            case .uint8: CTORCH_UINT8
            }
        }

        static func zeros(_ dtype: ctorch_dtype, count: Int) -> Values {
            switch dtype {
            case CTORCH_FLOAT64: .float64(Array(repeating: 0, count: count))
            case CTORCH_INT64: .int64(Array(repeating: 0, count: count))
            case CTORCH_UINT8: .uint8(Array(repeating: 0, count: count))
            default: .float32(Array(repeating: 0, count: count))
            }
        }

        /// Calls `body` with the raw bytes of the values.
        func withUnsafeRawPointer<R>(_ body: (UnsafeRawPointer?) throws -> R) rethrows -> R {
            switch self {
            case .float32(let v): try v.withUnsafeBytes { try body($0.baseAddress) }
            case .float64(let v): try v.withUnsafeBytes { try body($0.baseAddress) }
            case .int64(let v): try v.withUnsafeBytes { try body($0.baseAddress) }
            case .uint8(let v): try v.withUnsafeBytes { try body($0.baseAddress) }
            }
        }

        mutating func withUnsafeMutableRawPointer<R>(_ body: (UnsafeMutableRawPointer?) throws -> R) rethrows -> R {
            switch self {
            case .float32(var v):
                defer { self = .float32(v) }
                return try v.withUnsafeMutableBytes { try body($0.baseAddress) }
            case .float64(var v):
                defer { self = .float64(v) }
                return try v.withUnsafeMutableBytes { try body($0.baseAddress) }
            case .int64(var v):
                defer { self = .int64(v) }
                return try v.withUnsafeMutableBytes { try body($0.baseAddress) }
            case .uint8(var v):
                defer { self = .uint8(v) }
                return try v.withUnsafeMutableBytes { try body($0.baseAddress) }
            }
        }
    }

    public var name: String
    /// Extents, outermost first; `[]` for a scalar.
    public var shape: [Int]
    public var values: Values

    public init(name: String, shape: [Int], values: Values) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.name = name
        self.shape = shape
        self.values = values
    }
}
