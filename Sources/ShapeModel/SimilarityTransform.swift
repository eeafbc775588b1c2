import Foundation
import GeometryKit

/// `p ↦ scale · R p + translation`: the world ↔ local relation of a ShapeWorks
/// shape (Procrustes alignment with scaling).
public struct SimilarityTransform: Sendable, Equatable {
    /// Rotation, as its three rows.
    public var rotation: (SIMD3<Double>, SIMD3<Double>, SIMD3<Double>)
    public var scale: Double
    public var translation: SIMD3<Double>

    public init(rotation: (SIMD3<Double>, SIMD3<Double>, SIMD3<Double>) = (SIMD3(1, 0, 0), SIMD3(0, 1, 0), SIMD3(0, 0, 1)),
                scale: Double = 1, translation: SIMD3<Double> = .zero) {
        self.rotation = rotation
        self.scale = scale
        self.translation = translation
    }

    public static let identity = SimilarityTransform()

    /// Rotation matrix rows for the rotation vector `w` (Rodrigues).
    public static func rotation(vector w: SIMD3<Double>) -> (SIMD3<Double>, SIMD3<Double>, SIMD3<Double>) {
        let angle = (w * w).sum().squareRoot()
        guard angle > 1e-15 else { return (SIMD3(1, 0, 0), SIMD3(0, 1, 0), SIMD3(0, 0, 1)) }
        let k = w / angle, c = cos(angle), s = sin(angle), t = 1 - c
        return (SIMD3(c + t * k.x * k.x, t * k.x * k.y - s * k.z, t * k.x * k.z + s * k.y),
                SIMD3(t * k.y * k.x + s * k.z, c + t * k.y * k.y, t * k.y * k.z - s * k.x),
                SIMD3(t * k.z * k.x - s * k.y, t * k.z * k.y + s * k.x, c + t * k.z * k.z))
    }

    public static func == (a: SimilarityTransform, b: SimilarityTransform) -> Bool {
        a.rotation.0 == b.rotation.0 && a.rotation.1 == b.rotation.1 && a.rotation.2 == b.rotation.2
            && a.scale == b.scale && a.translation == b.translation
    }

    @inlinable public func rotate(_ p: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3((rotation.0 * p).sum(), (rotation.1 * p).sum(), (rotation.2 * p).sum())
    }

    @inlinable public func apply(_ p: SIMD3<Double>) -> SIMD3<Double> { scale * rotate(p) + translation }

    public func apply(_ set: ParticleSet) -> ParticleSet { ParticleSet(points: set.points.map(apply)) }

    /// The inverse map: `p ↦ Rᵀ (p − t) / s`.
    public var inverse: SimilarityTransform {
        let (r0, r1, r2) = rotation
        let rt = (SIMD3(r0.x, r1.x, r2.x), SIMD3(r0.y, r1.y, r2.y), SIMD3(r0.z, r1.z, r2.z))
        var inv = SimilarityTransform(rotation: rt, scale: 1 / scale, translation: .zero)
        inv.translation = -inv.apply(translation)
        return inv
    }

    /// The least-squares similarity taking `source[i]` to `target[i]` (Umeyama 1991;
    /// rotation from Horn's quaternion method, which never returns a reflection).
    public static func umeyama(from source: [SIMD3<Double>], to target: [SIMD3<Double>],
                               allowScaling: Bool = true) -> SimilarityTransform {
        precondition(source.count == target.count && !source.isEmpty, "umeyama: point sets must match and be non-empty")
        let n = Double(source.count)
        let cs = source.reduce(.zero, +) / n, ct = target.reduce(.zero, +) / n
        // Cross-covariance S[a][b] = Σ x_a y_b of the centred sets.
        var s = [[Double]](repeating: [0, 0, 0], count: 3)
        var sourceNorm = 0.0
        for (p, q) in zip(source, target) {
            let x = p - cs, y = q - ct
            sourceNorm += (x * x).sum()
            for a in 0..<3 { for b in 0..<3 { s[a][b] += x[a] * y[b] } }
        }
        let (xx, xy, xz) = (s[0][0], s[0][1], s[0][2])
        let (yx, yy, yz) = (s[1][0], s[1][1], s[1][2])
        let (zx, zy, zz) = (s[2][0], s[2][1], s[2][2])
        let nMatrix: [Double] = [
            xx + yy + zz, yz - zy, zx - xz, xy - yx,
            yz - zy, xx - yy - zz, xy + yx, zx + xz,
            zx - xz, xy + yx, -xx + yy - zz, yz + zy,
            xy - yx, zx + xz, yz + zy, -xx - yy + zz,
        ]
        let eig = LinearAlgebra.symmetricEigen(nMatrix, n: 4)
        let (w, x, y, z) = (eig.vectors[0], eig.vectors[4], eig.vectors[8], eig.vectors[12])
        let rot = (
            SIMD3(w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y)),
            SIMD3(2 * (y * x + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x)),
            SIMD3(2 * (z * x - w * y), 2 * (z * y + w * x), w * w - x * x - y * y + z * z)
        )
        var t = SimilarityTransform(rotation: rot, scale: 1, translation: .zero)
        if allowScaling, sourceNorm > 0 {
            var dot = 0.0
            for (p, q) in zip(source, target) { dot += ((q - ct) * t.rotate(p - cs)).sum() }
            t.scale = dot / sourceNorm
        }
        t.translation = ct - t.scale * t.rotate(cs)
        return t
    }
}
