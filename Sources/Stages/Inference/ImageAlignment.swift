import Foundation
import GeometryKit
import Workflow

/// Where a new image lies relative to the training reference: a point `p` of
/// the reference (training image) frame is at `M(A p + t)` in the new image's
/// own frame, with `A` a rotation (times an isotropic scale when allowed) and
/// `M` either the identity or, when the image shows the other side, the
/// mirror across the image's own mid-plane in x (left-right in LPS).
public struct ImageAlignment: Sendable, Equatable, Codable {
    /// Row-major 3 × 3 A.
    public var matrix: [Double]
    public var translation: [Double]
    /// Whether the image was mirrored in x before registering.
    public var mirrored: Bool
    /// The x coordinate of the mirror plane (the image's centre in x), mm.
    public var mirrorPlaneX: Double
    /// Normalised correlation of the reference and the registered image, 1 perfect.
    public var correlation: Double
    /// Fraction of the reference that lands inside the image.
    public var overlap: Double
    /// The isotropic scale of A (1 for rigid).
    public var scale: Double

    enum CodingKeys: String, CodingKey {
        case matrix, translation, mirrored, correlation, overlap, scale
        case mirrorPlaneX = "mirror_plane_x_mm"
    }

    /// A reference-frame point in the image's frame.
    public func apply(_ p: SIMD3<Double>) -> SIMD3<Double> {
        let m = matrix
        var q = SIMD3(m[0] * p.x + m[1] * p.y + m[2] * p.z, m[3] * p.x + m[4] * p.y + m[5] * p.z,
                      m[6] * p.x + m[7] * p.y + m[8] * p.z) + SIMD3(translation[0], translation[1], translation[2])
        if mirrored { q.x = 2 * mirrorPlaneX - q.x }
        return q
    }

    /// Registration below this correlation is reported as poor; see `ImageAligner.warnBelow`.
    public var isPoor: Bool { correlation < ImageAligner.warnBelow || overlap < ImageAligner.minimumOverlap }
}
