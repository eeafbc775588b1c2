import CHDF5
import Foundation

/// How a dataset is laid out on disk: contiguous, or in chunks (needed for
/// compression and for reading one sample of a stack alone).
public struct HDF5Storage: Sendable, Equatable {
    /// Chunk shape, same rank as the dataset; nil for contiguous storage.
    public var chunk: [Int]?
    /// gzip level 1...9, or nil for none. Needs a chunk shape.
    public var gzipLevel: Int?
    /// Byte shuffle before gzip: usually compresses floats better.
    public var shuffle: Bool

    public init(chunk: [Int]? = nil, gzipLevel: Int? = nil, shuffle: Bool = false) {
        self.chunk = chunk
        self.gzipLevel = gzipLevel
        self.shuffle = shuffle
    }

    /// One block of bytes, no compression.
    public static let contiguous = HDF5Storage()

    /// Chunks of the given shape, gzip-compressed (level 4 and shuffle by default).
    public static func chunked(_ chunk: [Int], gzipLevel: Int? = 4, shuffle: Bool = true) -> HDF5Storage {
        HDF5Storage(chunk: chunk, gzipLevel: gzipLevel, shuffle: shuffle)
    }
}

/// An open HDF5 file.
///
/// Files written through this type are byte-deterministic: object time stamps
/// are off and chunks bypass the chunk cache, so the same writes in the same
/// order give the same bytes, whatever order datasets are closed in.
public final class HDF5File: @unchecked Sendable {
    // @unchecked: the identifier is only used under the global HDF5 lock.
    public let url: URL
    public let isWritable: Bool
    let id: hid_t
    private var isOpen = true

    /// Creates (or truncates) a file for writing.
    public init(creating url: URL) throws {
        self.url = url
        isWritable = true
        id = try HDF5.serialized {
            let fcpl = H5Pcreate(ssm_h5p_file_create())
            defer { H5Pclose(fcpl) }
            // The file creation list also creates the root group.
            H5Pset_obj_track_times(fcpl, false)
            let id = H5Fcreate(url.path, ssm_h5f_acc_trunc(), fcpl, hid_t(H5P_DEFAULT))
            guard id >= 0 else {
                throw HDF5Error(.library, file: url,
                                "cannot create the file (\(HDF5.libraryMessage())); check that the folder exists and is writable")
            }
            return id
        }
    }

    /// Opens an existing file, read-only unless `writable`.
    public init(contentsOf url: URL, writable: Bool = false) throws {
        self.url = url
        isWritable = writable
        id = try HDF5.serialized {
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw HDF5Error(.missingFile, file: url, "no such file; check the path, or rerun the stage that writes it")
            }
            if H5Fis_hdf5(url.path) <= 0 {
                H5Eclear2(hid_t(H5E_DEFAULT))
                throw HDF5Error(.corruptFile, file: url,
                                "not an HDF5 file (no HDF5 signature); it may be empty or of another format")
            }
            let flags = writable ? ssm_h5f_acc_rdwr() : ssm_h5f_acc_rdonly()
            let id = H5Fopen(url.path, flags, hid_t(H5P_DEFAULT))
            guard id >= 0 else {
                throw HDF5Error(.corruptFile, file: url,
                                "cannot open the file (\(HDF5.libraryMessage())); it is probably truncated or damaged: delete it and rerun the stage that writes it")
            }
            return id
        }
    }

    deinit { close() }

    /// Flushes and closes the file; later calls on it fail. Datasets still held
    /// keep the file open until they are released.
    public func close() {
        HDF5.serialized {
            guard isOpen else { return }
            isOpen = false
            H5Fclose(id)
        }
    }

    // MARK: groups

    /// Whether a group or dataset exists at `path` (e.g. `meshes/m03_L/points`).
    public func contains(_ path: String) -> Bool {
        HDF5.serialized {
            var prefix = ""
            for component in Self.components(path) {
                prefix += "/" + component
                guard H5Lexists(id, prefix, hid_t(H5P_DEFAULT)) > 0 else {
                    H5Eclear2(hid_t(H5E_DEFAULT))
                    return false
                }
            }
            return true
        }
    }

    /// Creates the group at `path` and any missing parents.
    public func createGroup(_ path: String) throws {
        try HDF5.serialized {
            var prefix = ""
            for component in Self.components(path) {
                prefix += "/" + component
                if H5Lexists(id, prefix, hid_t(H5P_DEFAULT)) > 0 { continue }
                let gcpl = H5Pcreate(ssm_h5p_group_create())
                defer { H5Pclose(gcpl) }
                H5Pset_obj_track_times(gcpl, false)
                let group = H5Gcreate2(id, prefix, hid_t(H5P_DEFAULT), gcpl, hid_t(H5P_DEFAULT))
                guard group >= 0 else { throw failure(.library, prefix, "cannot create the group") }
                H5Gclose(group)
            }
        }
    }

    /// Names of the links directly inside a group, in name order.
    public func children(of group: String = "/") throws -> [String] {
        try HDF5.serialized {
            let gid = H5Gopen2(id, group, hid_t(H5P_DEFAULT))
            guard gid >= 0 else { throw failure(.missingObject, group, "no such group") }
            defer { H5Gclose(gid) }
            var info = H5G_info_t()
            guard H5Gget_info(gid, &info) >= 0 else { throw failure(.library, group, "cannot list the group") }
            return try (0..<info.nlinks).map { index in
                let size = H5Lget_name_by_idx(gid, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, hid_t(H5P_DEFAULT))
                guard size >= 0 else { throw failure(.library, group, "cannot read a link name") }
                var buffer = [CChar](repeating: 0, count: Int(size) + 1)
                H5Lget_name_by_idx(gid, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, hid_t(H5P_DEFAULT))
                return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            }
        }
    }

    /// Paths of every dataset in the file, depth first in name order, without a leading `/`.
    public func datasetPaths() throws -> [String] {
        try HDF5.serialized {
            var result: [String] = []
            func visit(_ group: String) throws {
                for name in try children(of: group) {
                    let path = group == "/" ? name : "\(group)/\(name)"
                    let object = H5Oopen(id, path, hid_t(H5P_DEFAULT))
                    guard object >= 0 else { throw failure(.library, path, "cannot open the object") }
                    let type = H5Iget_type(object)
                    H5Oclose(object)
                    if type == H5I_GROUP { try visit(path) } else if type == H5I_DATASET { result.append(path) }
                }
            }
            try visit("/")
            return result
        }
    }

    // MARK: datasets

    /// Creates an empty dataset (filled with zeros until written). Parent groups are created.
    @discardableResult
    public func createDataset(_ path: String, type: HDF5DataType, shape: [Int],
                              storage: HDF5Storage = .contiguous) throws -> HDF5Dataset {
        try HDF5.serialized {
            guard isWritable else { throw HDF5Error(.library, file: url, object: path, "the file is open read-only") }
            if contains(path) {
                throw HDF5Error(.alreadyExists, file: url, object: path,
                                "a dataset or group of this name exists already; choose another name")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw HDF5Error(.wrongShape, file: url, object: path, "shape \(shape) has a negative extent")
            }
            let parent = Self.components(path).dropLast().joined(separator: "/")
            if !parent.isEmpty { try createGroup(parent) }

            let dims = shape.map { hsize_t($0) }
            let space = shape.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(shape.count), dims, nil)
            defer { H5Sclose(space) }
            let dcpl = H5Pcreate(ssm_h5p_dataset_create())
            defer { H5Pclose(dcpl) }
            H5Pset_obj_track_times(dcpl, false)
            if let chunk = storage.chunk {
                guard chunk.count == shape.count, zip(chunk, shape).allSatisfy({ $0 >= 1 && $0 <= max($1, 1) }) else {
                    throw HDF5Error(.wrongShape, file: url, object: path,
                                    "chunk \(chunk) does not fit shape \(shape); give one extent per axis, each between 1 and the axis length")
                }
                let chunkDims = chunk.map { hsize_t($0) }
                H5Pset_chunk(dcpl, Int32(chunk.count), chunkDims)
                if storage.shuffle { H5Pset_shuffle(dcpl) }
                if let level = storage.gzipLevel { H5Pset_deflate(dcpl, UInt32(min(max(level, 1), 9))) }
            } else if storage.gzipLevel != nil {
                throw HDF5Error(.library, file: url, object: path, "gzip compression needs a chunk shape; use HDF5Storage.chunked(...)")
            }
            let dapl = writeAccessList()
            defer { H5Pclose(dapl) }
            let dataset = H5Dcreate2(id, path, type.nativeType, space, hid_t(H5P_DEFAULT), dcpl, dapl)
            guard dataset >= 0 else { throw failure(.library, path, "cannot create the dataset") }
            return HDF5Dataset(file: self, id: dataset, path: path, type: type, shape: shape, chunk: storage.chunk)
        }
    }

    /// Writes a whole array as a new dataset; `shape` defaults to one axis.
    public func write<T: HDF5Element>(_ values: [T], to path: String, shape: [Int]? = nil,
                                      storage: HDF5Storage = .contiguous) throws {
        let shape = shape ?? [values.count]
        let dataset = try createDataset(path, type: T.hdf5Type, shape: shape, storage: storage)
        try dataset.write(values)
    }

    /// Opens an existing dataset.
    public func dataset(_ path: String) throws -> HDF5Dataset {
        try HDF5.serialized {
            guard contains(path) else {
                throw HDF5Error(.missingObject, file: url, object: path,
                                "no such dataset; the file has: \(((try? datasetPaths()) ?? []).joined(separator: ", "))")
            }
            let dapl = isWritable ? writeAccessList() : hid_t(H5P_DEFAULT)
            defer { if isWritable { H5Pclose(dapl) } }
            let dataset = H5Dopen2(id, path, dapl)
            guard dataset >= 0 else { throw failure(.missingObject, path, "not a dataset") }
            let fileType = H5Dget_type(dataset)
            defer { H5Tclose(fileType) }
            guard let type = HDF5DataType(stored: fileType) else {
                let stored = HDF5DataType.describe(stored: fileType)
                H5Dclose(dataset)
                throw HDF5Error(.wrongType, file: url, object: path,
                                "stored as \(stored), which HDF5Kit does not read (float32, float64, int32, int64, uint8)")
            }
            let space = H5Dget_space(dataset)
            defer { H5Sclose(space) }
            let rank = Int(H5Sget_simple_extent_ndims(space))
            var dims = [hsize_t](repeating: 0, count: rank)
            H5Sget_simple_extent_dims(space, &dims, nil)
            let dcpl = H5Dget_create_plist(dataset)
            defer { H5Pclose(dcpl) }
            var chunk: [Int]?
            if H5Pget_layout(dcpl) == H5D_CHUNKED {
                var chunkDims = [hsize_t](repeating: 0, count: rank)
                H5Pget_chunk(dcpl, Int32(rank), &chunkDims)
                chunk = chunkDims.map { Int($0) }
            }
            return HDF5Dataset(file: self, id: dataset, path: path, type: type, shape: dims.map { Int($0) }, chunk: chunk)
        }
    }

    /// Reads a whole dataset, checking its element type and, if given, its shape.
    public func read<T: HDF5Element>(_ path: String, as: T.Type = T.self, shape expected: [Int]? = nil) throws -> [T] {
        let dataset = try dataset(path)
        if let expected, dataset.shape != expected {
            throw HDF5Error(.wrongShape, file: url, object: path,
                            "has shape \(dataset.shape) where \(expected) was expected; the file was written for other data")
        }
        return try dataset.read(as: T.self)
    }

    // MARK: helpers

    /// Dataset access for writing: no chunk cache, so each chunk goes to the file
    /// (and gets its address) when written, not when the cache happens to be
    /// flushed or the dataset closed: the file's layout follows the write order.
    private func writeAccessList() -> hid_t {
        let dapl = H5Pcreate(ssm_h5p_dataset_access())
        H5Pset_chunk_cache(dapl, 1, 0, 1.0)
        return dapl
    }

    static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init)
    }

    /// An error with HDF5's own explanation appended. Call under the lock.
    func failure(_ kind: HDF5Error.Kind, _ object: String?, _ what: String) -> HDF5Error {
        HDF5Error(kind, file: url, object: object, "\(what) (\(HDF5.libraryMessage()))")
    }
}
