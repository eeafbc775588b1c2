import Foundation

/// Reads a sample stack written by `SampleStackWriter`: per-sample arrays
/// stacked along axis 0, each sample read alone (one chunk), never the whole stack.
public final class SampleStack: @unchecked Sendable {
    // @unchecked: the dataset cache is only touched under the global HDF5 lock.

    /// Grid of the stacked images: `dims` (nx, ny, nz), `spacing` and `origin` in mm.
    public struct Geometry: Sendable, Equatable {
        public var dims: [Int]
        public var spacing: [Double]
        public var origin: [Double]

        public init(dims: [Int], spacing: [Double], origin: [Double]) {
            self.dims = dims
            self.spacing = spacing
            self.origin = origin
        }

        /// Shape of one image in the stack, slowest axis first: `[nz, ny, nx]`.
        public var imageShape: [Int] { dims.reversed() }
    }

    public let url: URL
    /// The underlying file, for attributes and arrays beyond the stack.
    public let file: HDF5File
    /// Sample ids, in stack order.
    public let ids: [String]
    /// The image grid, when the stack has one (`dims`, `spacing`, `origin` attributes).
    public let geometry: Geometry?
    private var datasets: [String: HDF5Dataset] = [:]

    /// Opens a stack and reads its root attributes.
    public init(contentsOf url: URL) throws {
        self.url = url
        file = try HDF5File(contentsOf: url)
        let joined = try file.stringAttribute("ids")
        ids = joined.isEmpty ? [] : joined.components(separatedBy: "\n")
        let names = try file.attributeNames()
        if names.contains("dims") {
            let dims = try file.intsAttribute("dims")
            let spacing = try file.doublesAttribute("spacing")
            let origin = try file.doublesAttribute("origin")
            guard dims.count == 3, spacing.count == 3, origin.count == 3 else {
                throw HDF5Error(.wrongShape, file: url, object: "/",
                                "dims, spacing and origin must have 3 values each (got \(dims.count), \(spacing.count), \(origin.count))")
            }
            geometry = Geometry(dims: dims, spacing: spacing, origin: origin)
        } else {
            geometry = nil
        }
    }

    /// Number of samples.
    public var count: Int { ids.count }

    /// Names of the stacked arrays, in name order.
    public var arrayNames: [String] {
        get throws { try file.datasetPaths() }
    }

    /// The stacked array `name`, checked to hold `count` samples.
    public func array(_ name: String) throws -> HDF5Dataset {
        try HDF5.serialized {
            if let cached = datasets[name] { return cached }
            let dataset = try file.dataset(name)
            guard dataset.shape.first == count else {
                throw HDF5Error(.wrongShape, file: url, object: name,
                                "has shape \(dataset.shape) but the stack has \(count) ids; the file is inconsistent: rerun the stage that writes it")
            }
            datasets[name] = dataset
            return dataset
        }
    }

    /// Shape of one sample of array `name`.
    public func sampleShape(_ name: String) throws -> [Int] {
        Array(try array(name).shape.dropFirst())
    }

    /// Sample `index` of array `name`, in C order.
    public func sample<T: HDF5Element>(_ name: String, _ index: Int, as: T.Type = T.self) throws -> [T] {
        try array(name).readSlice(index, as: T.self)
    }

    /// Reads sample `index` of array `name` into `buffer` (exactly one sample's elements).
    public func sample<T: HDF5Element>(_ name: String, _ index: Int, into buffer: UnsafeMutableBufferPointer<T>) throws {
        try array(name).readSlices(index..<(index + 1), into: buffer)
    }

    /// The index of sample `id`, or nil.
    public func index(of id: String) -> Int? { ids.firstIndex(of: id) }
}
