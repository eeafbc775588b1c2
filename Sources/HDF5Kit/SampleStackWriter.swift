import Foundation

/// Writes a sample stack: per-sample arrays stacked along axis 0 (shape
/// `[n] + sampleShape`, one sample per chunk), plus the root attributes `ids`
/// and, for image stacks, `dims`, `spacing`, `origin`. Read it with `SampleStack`.
///
/// Samples may be put in any order and from any thread; the bytes of the file
/// depend on that order (chunks are placed as they come), so write in index
/// order when the file must be byte-deterministic. `finish()` checks that every
/// sample of every array was written.
public final class SampleStackWriter: @unchecked Sendable {
    // @unchecked: mutable state is only touched under the global HDF5 lock.
    public let url: URL
    /// Number of samples (n).
    public let count: Int
    private let file: HDF5File
    private var arrays: [String: HDF5Dataset] = [:]
    private var written: [String: [Bool]] = [:]
    private var nextIndex: [String: Int] = [:]
    private var isFinished = false

    /// Creates the file with one sample per id. Ids may not contain newlines.
    public init(creating url: URL, ids: [String], geometry: SampleStack.Geometry? = nil) throws {
        self.url = url
        count = ids.count
        if let bad = ids.first(where: { $0.contains("\n") || $0.isEmpty }) {
            throw HDF5Error(.library, file: url, object: "/@ids",
                            "sample id \(bad.debugDescription) is empty or contains a newline; ids are stored newline-joined")
        }
        file = try HDF5File(creating: url)
        try file.setAttribute("ids", .string(ids.joined(separator: "\n")))
        if let geometry {
            try file.setAttribute("dims", .ints(geometry.dims.map { Int64($0) }))
            try file.setAttribute("spacing", .doubles(geometry.spacing))
            try file.setAttribute("origin", .doubles(geometry.origin))
        }
    }

    /// Declares a stacked array `name` of `count` samples of `sampleShape` each
    /// (an image is `[nz, ny, nx]`, particles `[M, 3]`, scores `[K]`).
    public func addArray(_ name: String, type: HDF5DataType, sampleShape: [Int],
                         gzipLevel: Int? = 1) throws {
        try HDF5.serialized {
            let shape = [count] + sampleShape
            // One sample per chunk, so one sample reads (and decompresses) alone.
            // An empty stack cannot be chunked; it is stored contiguously.
            let storage: HDF5Storage = count == 0 || sampleShape.contains(0)
                ? .contiguous
                : .chunked([1] + sampleShape, gzipLevel: gzipLevel, shuffle: gzipLevel != nil)
            arrays[name] = try file.createDataset(name, type: type, shape: shape, storage: storage)
            written[name] = [Bool](repeating: false, count: count)
            nextIndex[name] = 0
        }
    }

    /// Writes sample `index` of array `name`.
    public func put<T: HDF5Element>(_ name: String, sample index: Int, _ values: [T]) throws {
        try values.withUnsafeBufferPointer { try put(name, sample: index, from: $0) }
    }

    /// Writes sample `index` of array `name` from a buffer of one sample's elements.
    public func put<T: HDF5Element>(_ name: String, sample index: Int, from buffer: UnsafeBufferPointer<T>) throws {
        try HDF5.serialized {
            guard !isFinished else { throw HDF5Error(.library, file: url, object: name, "the stack is finished; no more samples can be written") }
            guard let dataset = arrays[name] else {
                throw HDF5Error(.missingObject, file: url, object: name,
                                "no such array in the stack; declare it first with addArray (declared: \(arrays.keys.sorted().joined(separator: ", ")))")
            }
            try dataset.writeSlice(index, from: buffer)
            written[name]![index] = true
            while let next = nextIndex[name], next < count, written[name]![next] { nextIndex[name] = next + 1 }
        }
    }

    /// Writes the first sample of `name` not yet written.
    public func append<T: HDF5Element>(_ name: String, _ values: [T]) throws {
        try HDF5.serialized {
            let index = nextIndex[name] ?? 0
            guard index < count else {
                throw HDF5Error(.wrongShape, file: url, object: name, "all \(count) samples are written already; cannot append another")
            }
            try put(name, sample: index, values)
        }
    }

    /// Sets a root attribute (provenance, units, ...).
    public func setAttribute(_ name: String, _ value: HDF5AttributeValue) throws {
        try file.setAttribute(name, value)
    }

    /// Checks that every sample of every array was written, then closes the file.
    public func finish() throws {
        try HDF5.serialized {
            guard !isFinished else { return }
            for name in arrays.keys.sorted() {
                if let missing = written[name]!.firstIndex(of: false) {
                    let total = written[name]!.filter { !$0 }.count
                    throw HDF5Error(.wrongShape, file: url, object: name,
                                    "\(total) of \(count) samples were never written (first: \(missing)); put every sample before finish()")
                }
            }
            isFinished = true
            // Close in name order: dictionary order changes from process to
            // process, and the close order decides where HDF5 places metadata.
            for name in arrays.keys.sorted() { arrays.removeValue(forKey: name) }
            file.close()
        }
    }
}
