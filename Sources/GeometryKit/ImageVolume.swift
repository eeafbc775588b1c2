import Foundation

/// A 3-D image on a regular grid: voxel `(x, y, z)` is at
/// `origin + (x·spacing.x, y·spacing.y, z·spacing.z)` (axis-aligned, as groomed
/// ShapeWorks images are), stored with x fastest: index `x + nx·(y + ny·z)`.
public struct ImageVolume: Sendable, Equatable {
    /// Voxel counts (nx, ny, nz).
    public var dims: SIMD3<Int>
    /// Voxel size in mm.
    public var spacing: SIMD3<Double>
    /// Physical position of voxel (0, 0, 0) in mm.
    public var origin: SIMD3<Double>
    public var voxels: [Float]

    public init(dims: SIMD3<Int>, spacing: SIMD3<Double> = .one, origin: SIMD3<Double> = .zero,
                voxels: [Float]) {
        precondition(voxels.count == dims.x * dims.y * dims.z, "voxel count does not match dims")
        self.dims = dims
        self.spacing = spacing
        self.origin = origin
        self.voxels = voxels
    }

    public init(dims: SIMD3<Int>, spacing: SIMD3<Double> = .one, origin: SIMD3<Double> = .zero,
                fill: Float = 0) {
        self.init(dims: dims, spacing: spacing, origin: origin,
                  voxels: [Float](repeating: fill, count: dims.x * dims.y * dims.z))
    }

    public var count: Int { voxels.count }

    @inlinable public func index(_ x: Int, _ y: Int, _ z: Int) -> Int { x + dims.x * (y + dims.y * z) }

    @inlinable public subscript(x: Int, y: Int, z: Int) -> Float {
        get { voxels[index(x, y, z)] }
        set { voxels[index(x, y, z)] = newValue }
    }

    /// Physical position of a (possibly fractional) voxel index.
    @inlinable public func point(_ index: SIMD3<Double>) -> SIMD3<Double> { origin + index * spacing }

    /// Fractional voxel index of a physical position.
    @inlinable public func continuousIndex(_ point: SIMD3<Double>) -> SIMD3<Double> { (point - origin) / spacing }

    /// Physical size covered by the voxel centres' cells: dims × spacing.
    public var physicalExtent: SIMD3<Double> { SIMD3<Double>(dims) * spacing }
}
