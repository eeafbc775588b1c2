import CHDF5

/// The element types HDF5Kit stores, all little-endian as on the machines we run on.
public enum HDF5DataType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float32, float64, int32, int64, uint8

    public var description: String { rawValue }

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        case .uint8: return 1
        }
    }

    /// The native memory type (owned by the library; never closed).
    var nativeType: hid_t {
        switch self {
        case .float32: return ssm_h5t_native_float()
        case .float64: return ssm_h5t_native_double()
        case .int32: return ssm_h5t_native_int32()
        case .int64: return ssm_h5t_native_int64()
        case .uint8: return ssm_h5t_native_uint8()
        }
    }

    /// The kind of a stored datatype, or nil for types HDF5Kit does not read
    /// (strings, compounds, int16, ...). Call under the HDF5 lock.
    init?(stored type: hid_t) {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            switch size {
            case 4: self = .float32
            case 8: self = .float64
            default: return nil
            }
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) == H5T_SGN_2
            switch (size, signed) {
            case (4, true): self = .int32
            case (8, true): self = .int64
            case (1, false): self = .uint8
            default: return nil
            }
        default:
            return nil
        }
    }

    /// A readable name for any stored type, for error messages.
    static func describe(stored type: hid_t) -> String {
        if let known = HDF5DataType(stored: type) { return known.rawValue }
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT: return "float\(size * 8)"
        case H5T_INTEGER: return (H5Tget_sign(type) == H5T_SGN_2 ? "int" : "uint") + "\(size * 8)"
        case H5T_STRING: return "string"
        case H5T_COMPOUND: return "compound"
        default: return "an unsupported type"
        }
    }
}

/// A Swift type that maps to one `HDF5DataType`.
public protocol HDF5Element: Sendable {
    static var hdf5Type: HDF5DataType { get }
    /// The element as a Double, for summaries.
    var doubleValue: Double { get }
}

extension Float: HDF5Element {
    public static var hdf5Type: HDF5DataType { .float32 }
    public var doubleValue: Double { Double(self) }
}
extension Double: HDF5Element {
    public static var hdf5Type: HDF5DataType { .float64 }
    public var doubleValue: Double { self }
}
extension Int32: HDF5Element {
    public static var hdf5Type: HDF5DataType { .int32 }
    public var doubleValue: Double { Double(self) }
}
extension Int64: HDF5Element {
    public static var hdf5Type: HDF5DataType { .int64 }
    public var doubleValue: Double { Double(self) }
}
extension UInt8: HDF5Element {
    public static var hdf5Type: HDF5DataType { .uint8 }
    public var doubleValue: Double { Double(self) }
}
