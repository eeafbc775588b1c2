import Foundation
import GeometryKit
import HDF5Kit
import Workflow

extension SampleStack.Geometry {
    /// The grid of `image`.
    public init(_ image: ImageVolume) {
        self.init(dims: [image.dims.x, image.dims.y, image.dims.z],
                  spacing: [image.spacing.x, image.spacing.y, image.spacing.z],
                  origin: [image.origin.x, image.origin.y, image.origin.z])
    }

    /// Whether `image` lies on this grid (dims equal, spacing and origin within 1e-6 mm).
    public func matches(_ image: ImageVolume) -> Bool {
        let other = SampleStack.Geometry(image)
        return dims == other.dims
            && zip(spacing + origin, other.spacing + other.origin).allSatisfy { abs($0 - $1) <= 1e-6 }
    }
}

extension SampleStack {
    /// Sample `index` of float32 image array `name` as a volume on the stack's grid.
    public func image(_ name: String, _ index: Int) throws -> ImageVolume {
        guard let geometry else {
            throw StageFailure("\(url.path) has no dims/spacing/origin attributes, so '\(name)' cannot be read as images; rerun the stage that writes it")
        }
        let voxels = try sample(name, index, as: Float.self)
        return ImageVolume(dims: SIMD3(geometry.dims[0], geometry.dims[1], geometry.dims[2]),
                           spacing: SIMD3(geometry.spacing[0], geometry.spacing[1], geometry.spacing[2]),
                           origin: SIMD3(geometry.origin[0], geometry.origin[1], geometry.origin[2]),
                           voxels: voxels)
    }
}

extension SampleStackWriter {
    /// Writes `image`'s voxels as sample `index` of float32 array `name`.
    public func put(_ name: String, sample index: Int, image: ImageVolume) throws {
        try put(name, sample: index, image.voxels)
    }
}
