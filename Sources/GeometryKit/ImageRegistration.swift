import CITKShim
import Foundation

/// A registration result: the transform from the fixed (reference) image's
/// physical frame to the moving (new) image's, `p_moving = A p_fixed + t`, and
/// how well the images match under it.
public struct RegistrationResult: Sendable, Equatable {
    /// Row-major 3 × 3 matrix A (a rotation, times an isotropic scale when allowed).
    public var matrix: [Double]
    public var translation: SIMD3<Double>
    /// Minus the normalised correlation of the two images under the transform,
    /// over the fixed image: -1 a perfect match (up to a linear intensity
    /// change), 0 none.
    public var metric: Double
    /// Fraction of the fixed image that lands inside the moving image.
    public var overlap: Double

    /// `A p + t`: a point of the fixed frame in the moving frame.
    public func apply(_ p: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3(matrix[0] * p.x + matrix[1] * p.y + matrix[2] * p.z,
              matrix[3] * p.x + matrix[4] * p.y + matrix[5] * p.z,
              matrix[6] * p.x + matrix[7] * p.y + matrix[8] * p.z) + translation
    }

    /// The isotropic scale of A (the cube root of its determinant).
    public var scale: Double {
        let m = matrix
        let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6])
        return Foundation.cbrt(det)
    }
}

/// A registration that ITK could not carry out (bad images, a library fault).
public struct RegistrationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Intensity-based registration of a new image to a reference with ITK
/// (libSSMFlowITK.so, loaded on first use): rigid or similarity, normalised
/// correlation, multi-resolution, started from the centres of mass.
public enum ImageRegistration {
    /// The ITK version the shim was built with ("unavailable" when it cannot load).
    public static var version: String { String(cString: citk_version()) }

    /// Registers `moving` to `fixed` (see `citk_register_similarity`).
    public static func register(moving: ImageVolume, to fixed: ImageVolume, allowScale: Bool = false,
                                levels: Int = 3, iterations: Int = 200, threads: Int = 1) throws -> RegistrationResult {
        var transform = [Double](repeating: 0, count: 12)
        var metric = 0.0, overlap = 0.0
        var error: UnsafeMutablePointer<CChar>? = nil
        let fixedDims = [Int64(fixed.dims.x), Int64(fixed.dims.y), Int64(fixed.dims.z)]
        let movingDims = [Int64(moving.dims.x), Int64(moving.dims.y), Int64(moving.dims.z)]
        let fixedGeometry = [fixed.spacing.x, fixed.spacing.y, fixed.spacing.z, fixed.origin.x, fixed.origin.y, fixed.origin.z]
        let movingGeometry = [moving.spacing.x, moving.spacing.y, moving.spacing.z, moving.origin.x, moving.origin.y, moving.origin.z]
        let status = citk_register_similarity(fixed.voxels, fixedDims, fixedGeometry, moving.voxels, movingDims, movingGeometry,
                                              allowScale ? 1 : 0, Int32(levels), Int32(iterations), Int32(threads),
                                              &transform, &metric, &overlap, &error)
        defer { citk_free_string(error) }
        guard status == CITK_OK else {
            throw RegistrationError(error.map { String(cString: $0) } ?? "ITK registration failed without a message")
        }
        return RegistrationResult(matrix: Array(transform[0..<9]), translation: SIMD3(transform[9], transform[10], transform[11]),
                                  metric: metric, overlap: overlap)
    }
}
