import CHDF5
import Foundation

/// An open dataset: a typed n-d array in an `HDF5File`, read or written whole
/// or one slice along axis 0 at a time (one sample of a stack).
public final class HDF5Dataset: @unchecked Sendable {
    // @unchecked: the identifier is only used under the global HDF5 lock.
    /// The file, kept open while the dataset is.
    public let file: HDF5File
    public let path: String
    public let type: HDF5DataType
    public let shape: [Int]
    /// Chunk shape, or nil when stored contiguously.
    public let chunk: [Int]?
    let id: hid_t

    init(file: HDF5File, id: hid_t, path: String, type: HDF5DataType, shape: [Int], chunk: [Int]?) {
        self.file = file
        self.id = id
        self.path = path
        self.type = type
        self.shape = shape
        self.chunk = chunk
    }

    deinit { HDF5.serialized { _ = H5Dclose(id) } }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Elements in one slice along axis 0 (one sample).
    public var sliceCount: Int { shape.dropFirst().reduce(1, *) }

    // MARK: reading

    /// All elements, in C order (last axis fastest).
    public func read<T: HDF5Element>(as: T.Type = T.self) throws -> [T] {
        try checkType(T.self)
        return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            try transfer(rows: nil, buffer: UnsafeMutableRawPointer(buffer.baseAddress), count: count, write: false)
            initialized = count
        }
    }

    /// Slice `index` along axis 0, without reading the rest of the dataset.
    public func readSlice<T: HDF5Element>(_ index: Int, as: T.Type = T.self) throws -> [T] {
        try readSlices(index..<(index + 1), as: T.self)
    }

    /// Slices `range` along axis 0, concatenated.
    public func readSlices<T: HDF5Element>(_ range: Range<Int>, as: T.Type = T.self) throws -> [T] {
        let total = range.count * sliceCount
        return try [T](unsafeUninitializedCapacity: total) { buffer, initialized in
            try readSlices(range, into: buffer)
            initialized = total
        }
    }

    /// Reads slices `range` along axis 0 straight into `buffer` (which must hold
    /// exactly `range.count × sliceCount` elements): batches are filled in place.
    public func readSlices<T: HDF5Element>(_ range: Range<Int>, into buffer: UnsafeMutableBufferPointer<T>) throws {
        try checkType(T.self)
        try checkRows(range)
        guard buffer.count == range.count * sliceCount else {
            throw HDF5Error(.wrongShape, file: file.url, object: path,
                            "a buffer of \(buffer.count) elements cannot take \(range.count) slice(s) of \(sliceCount)")
        }
        try transfer(rows: range, buffer: UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count, write: false)
    }

    // MARK: writing

    /// Writes every element, in C order.
    public func write<T: HDF5Element>(_ values: [T]) throws {
        try checkType(T.self)
        guard values.count == count else {
            throw HDF5Error(.wrongShape, file: file.url, object: path,
                            "\(values.count) values cannot fill shape \(shape) (\(count) elements)")
        }
        try values.withUnsafeBufferPointer { buffer in
            try transfer(rows: nil, buffer: UnsafeMutableRawPointer(mutating: buffer.baseAddress), count: count, write: true)
        }
    }

    /// Writes slice `index` along axis 0.
    public func writeSlice<T: HDF5Element>(_ index: Int, _ values: [T]) throws {
        try values.withUnsafeBufferPointer { try writeSlice(index, from: $0) }
    }

    /// Writes slice `index` along axis 0 from a buffer of `sliceCount` elements.
    public func writeSlice<T: HDF5Element>(_ index: Int, from buffer: UnsafeBufferPointer<T>) throws {
        try checkType(T.self)
        try checkRows(index..<(index + 1))
        guard buffer.count == sliceCount else {
            throw HDF5Error(.wrongShape, file: file.url, object: path,
                            "\(buffer.count) values cannot fill one slice of shape \(Array(shape.dropFirst())) (\(sliceCount) elements)")
        }
        try transfer(rows: index..<(index + 1), buffer: UnsafeMutableRawPointer(mutating: buffer.baseAddress),
                     count: buffer.count, write: true)
    }

    // MARK: helpers

    private func checkType<T: HDF5Element>(_: T.Type) throws {
        guard T.hdf5Type == type else {
            throw HDF5Error(.wrongType, file: file.url, object: path,
                            "stored as \(type) but read or written as \(T.hdf5Type); use \(type) elements")
        }
    }

    private func checkRows(_ range: Range<Int>) throws {
        guard let rows = shape.first else {
            throw HDF5Error(.wrongShape, file: file.url, object: path, "a scalar dataset has no slices")
        }
        guard range.lowerBound >= 0, range.upperBound <= rows else {
            throw HDF5Error(.wrongShape, file: file.url, object: path,
                            "slices \(range.lowerBound)..<\(range.upperBound) are outside 0..<\(rows)")
        }
    }

    /// Moves `count` elements between memory and the file: the whole dataset, or
    /// a hyperslab of whole rows along axis 0.
    private func transfer(rows: Range<Int>?, buffer: UnsafeMutableRawPointer?, count: Int, write: Bool) throws {
        try HDF5.serialized {
            guard count > 0 else { return }
            var fileSpace = hid_t(H5S_ALL)
            var memorySpace = hid_t(H5S_ALL)
            if let rows {
                fileSpace = H5Dget_space(id)
                var start = [hsize_t](repeating: 0, count: shape.count)
                var extent = shape.map { hsize_t($0) }
                start[0] = hsize_t(rows.lowerBound)
                extent[0] = hsize_t(rows.count)
                H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nil, extent, nil)
                memorySpace = H5Screate_simple(Int32(extent.count), extent, nil)
            }
            defer {
                if rows != nil {
                    H5Sclose(fileSpace)
                    H5Sclose(memorySpace)
                }
            }
            let status = write
                ? H5Dwrite(id, type.nativeType, memorySpace, fileSpace, hid_t(H5P_DEFAULT), buffer)
                : H5Dread(id, type.nativeType, memorySpace, fileSpace, hid_t(H5P_DEFAULT), buffer)
            guard status >= 0 else {
                let what = write ? "cannot write" : "cannot read"
                throw HDF5Error(.corruptFile, file: file.url, object: path,
                                "\(what) the data (\(HDF5.libraryMessage())); the file may be truncated or damaged: delete it and rerun the stage that writes it")
            }
        }
    }
}
