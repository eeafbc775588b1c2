import CHDF5
import Foundation

/// The value of an HDF5 attribute: provenance (stage, key, parameters) and
/// small metadata (spacing, ids).
public enum HDF5AttributeValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case double(Double)
    case int(Int64)
    case doubles([Double])
    case ints([Int64])

    public var description: String {
        switch self {
        case .string(let s): return "\"\(s)\""
        case .double(let d): return "\(d)"
        case .int(let i): return "\(i)"
        case .doubles(let a): return "\(a)"
        case .ints(let a): return "\(a)"
        }
    }
}

extension HDF5File {
    /// Sets (or replaces) attribute `name` on the group or dataset at `path`.
    public func setAttribute(_ name: String, _ value: HDF5AttributeValue, on path: String = "/") throws {
        try HDF5.serialized {
            let object = try openObject(path)
            defer { H5Oclose(object) }
            if H5Aexists(object, name) > 0 { H5Adelete(object, name) }

            var type: hid_t
            var space: hid_t
            switch value {
            case .string:
                // Variable-length UTF-8, as h5py writes strings: it reads them back as str.
                type = H5Tcopy(ssm_h5t_c_s1())
                H5Tset_size(type, Self.variableLength)
                H5Tset_cset(type, H5T_CSET_UTF8)
                space = H5Screate(H5S_SCALAR)
            case .double:
                type = H5Tcopy(ssm_h5t_native_double())
                space = H5Screate(H5S_SCALAR)
            case .int:
                type = H5Tcopy(ssm_h5t_native_int64())
                space = H5Screate(H5S_SCALAR)
            case .doubles(let values):
                type = H5Tcopy(ssm_h5t_native_double())
                space = H5Screate_simple(1, [hsize_t(values.count)], nil)
            case .ints(let values):
                type = H5Tcopy(ssm_h5t_native_int64())
                space = H5Screate_simple(1, [hsize_t(values.count)], nil)
            }
            defer {
                H5Tclose(type)
                H5Sclose(space)
            }
            let attribute = H5Acreate2(object, name, type, space, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT))
            guard attribute >= 0 else { throw failure(.library, "\(path)@\(name)", "cannot create the attribute") }
            defer { H5Aclose(attribute) }
            let status: herr_t
            switch value {
            case .string(let text):
                status = text.withCString { characters in
                    var pointer: UnsafePointer<CChar>? = characters
                    return H5Awrite(attribute, type, &pointer)
                }
            case .double(let d): status = withUnsafePointer(to: d) { H5Awrite(attribute, type, $0) }
            case .int(let i): status = withUnsafePointer(to: i) { H5Awrite(attribute, type, $0) }
            case .doubles(let a): status = H5Awrite(attribute, type, a)
            case .ints(let a): status = H5Awrite(attribute, type, a)
            }
            guard status >= 0 else { throw failure(.library, "\(path)@\(name)", "cannot write the attribute") }
        }
    }

    /// Attribute `name` of the group or dataset at `path`. Integers read as
    /// `.int`/`.ints`, floats as `.double`/`.doubles`, scalars vs arrays by rank.
    public func attribute(_ name: String, of path: String = "/") throws -> HDF5AttributeValue {
        try HDF5.serialized {
            let object = try openObject(path)
            defer { H5Oclose(object) }
            let place = "\(path)@\(name)"
            guard H5Aexists(object, name) > 0 else {
                H5Eclear2(hid_t(H5E_DEFAULT))
                let names = (try? attributeNames(of: path)) ?? []
                throw HDF5Error(.missingObject, file: url, object: place,
                                "no such attribute; the object has: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
            }
            let attribute = H5Aopen(object, name, hid_t(H5P_DEFAULT))
            guard attribute >= 0 else { throw failure(.library, place, "cannot open the attribute") }
            defer { H5Aclose(attribute) }
            let type = H5Aget_type(attribute)
            defer { H5Tclose(type) }
            let space = H5Aget_space(attribute)
            defer { H5Sclose(space) }
            let count = Int(H5Sget_simple_extent_npoints(space))
            let isScalar = H5Sget_simple_extent_ndims(space) == 0

            switch H5Tget_class(type) {
            case H5T_STRING:
                guard count == 1 else { throw HDF5Error(.wrongShape, file: url, object: place, "an array of strings is not supported") }
                return .string(try readString(attribute, type: type, place: place))
            case H5T_FLOAT:
                var values = [Double](repeating: 0, count: count)
                guard H5Aread(attribute, ssm_h5t_native_double(), &values) >= 0 else {
                    throw failure(.corruptFile, place, "cannot read the attribute")
                }
                return isScalar ? .double(values[0]) : .doubles(values)
            case H5T_INTEGER:
                var values = [Int64](repeating: 0, count: count)
                guard H5Aread(attribute, ssm_h5t_native_int64(), &values) >= 0 else {
                    throw failure(.corruptFile, place, "cannot read the attribute")
                }
                return isScalar ? .int(values[0]) : .ints(values)
            default:
                throw HDF5Error(.wrongType, file: url, object: place,
                                "stored as \(HDF5DataType.describe(stored: type)); only strings, integers and floats are read")
            }
        }
    }

    /// Names of the attributes of the group or dataset at `path`, in name order.
    public func attributeNames(of path: String = "/") throws -> [String] {
        try HDF5.serialized {
            let object = try openObject(path)
            defer { H5Oclose(object) }
            final class Names { var list: [String] = [] }
            let names = Names()
            try withExtendedLifetime(names) {
                var index: hsize_t = 0
                let status = H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, _, data in
                    guard let name, let data else { return 0 }
                    Unmanaged<Names>.fromOpaque(data).takeUnretainedValue().list.append(String(cString: name))
                    return 0
                }, Unmanaged.passUnretained(names).toOpaque())
                guard status >= 0 else { throw failure(.library, path, "cannot list the attributes") }
            }
            return names.list
        }
    }

    // MARK: typed accessors

    /// A string attribute; throws `wrongType` for any other kind.
    public func stringAttribute(_ name: String, of path: String = "/") throws -> String {
        guard case .string(let s) = try attribute(name, of: path) else { throw typeMismatch(name, path, "a string") }
        return s
    }

    /// A numeric attribute as Doubles (a scalar gives one element).
    public func doublesAttribute(_ name: String, of path: String = "/") throws -> [Double] {
        switch try attribute(name, of: path) {
        case .double(let d): return [d]
        case .doubles(let a): return a
        case .int(let i): return [Double(i)]
        case .ints(let a): return a.map(Double.init)
        case .string: throw typeMismatch(name, path, "numbers")
        }
    }

    /// An integer attribute as Ints (a scalar gives one element).
    public func intsAttribute(_ name: String, of path: String = "/") throws -> [Int] {
        switch try attribute(name, of: path) {
        case .int(let i): return [Int(i)]
        case .ints(let a): return a.map { Int($0) }
        default: throw typeMismatch(name, path, "integers")
        }
    }

    // MARK: helpers

    /// `H5T_VARIABLE`, a macro Swift does not import: the size of variable-length strings.
    private static let variableLength = Int(bitPattern: UInt.max)

    private func typeMismatch(_ name: String, _ path: String, _ expected: String) -> HDF5Error {
        HDF5Error(.wrongType, file: url, object: "\(path)@\(name)", "the attribute does not hold \(expected)")
    }

    /// Opens the group or dataset at `path` (close with H5Oclose). Call under the lock.
    private func openObject(_ path: String) throws -> hid_t {
        guard path == "/" || contains(path) else {
            throw HDF5Error(.missingObject, file: url, object: path, "no such group or dataset")
        }
        let object = H5Oopen(id, path, hid_t(H5P_DEFAULT))
        guard object >= 0 else { throw failure(.library, path, "cannot open the object") }
        return object
    }

    /// Reads a fixed- or variable-length string attribute (h5py writes the latter).
    private func readString(_ attribute: hid_t, type: hid_t, place: String) throws -> String {
        if H5Tis_variable_str(type) > 0 {
            let memoryType = H5Tcopy(ssm_h5t_c_s1())
            defer { H5Tclose(memoryType) }
            H5Tset_size(memoryType, Self.variableLength)
            // HDF5 converts no character sets: read in the one stored.
            H5Tset_cset(memoryType, H5Tget_cset(type))
            var pointer: UnsafeMutablePointer<CChar>?
            guard H5Aread(attribute, memoryType, &pointer) >= 0 else { throw failure(.corruptFile, place, "cannot read the attribute") }
            defer { H5free_memory(pointer) }
            return pointer.map { String(cString: $0) } ?? ""
        }
        let size = H5Tget_size(type)
        var bytes = [UInt8](repeating: 0, count: size + 1)
        guard H5Aread(attribute, type, &bytes) >= 0 else { throw failure(.corruptFile, place, "cannot read the attribute") }
        let end = bytes.firstIndex(of: 0) ?? size
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}
