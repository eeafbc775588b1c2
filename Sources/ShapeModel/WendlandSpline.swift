import Foundation

/// A 3-D interpolating warp with Wendland's compactly supported radial basis
/// function φ(r) = (1 − r/s)⁴₊ (4r/s + 1) (C², positive definite in 3-D) plus an
/// affine part: `f(p) = a + A p + Σ wᵢ φ(|p − cᵢ|)`. ShapeWorks 6.0 warped the
/// mean mesh with it; beyond `support` mm from every landmark only the affine
/// part acts.
public struct WendlandSpline: Sendable {
    public let support: Double
    let centres: [SIMD3<Double>]
    let weights: [SIMD3<Double>]
    let translation: SIMD3<Double>
    let linear: (SIMD3<Double>, SIMD3<Double>, SIMD3<Double>)

    /// Fits the warp taking `source[i]` exactly to `target[i]`.
    public init(from source: [SIMD3<Double>], to target: [SIMD3<Double>], support: Double) throws {
        precondition(source.count == target.count, "wendland spline: landmark counts differ")
        guard support > 0 else { throw NumericalError("the wendland support radius must be positive, got \(support)") }
        let n = source.count
        guard n >= 4 else { throw NumericalError("a 3-d wendland spline needs at least 4 landmarks, got \(n)") }
        let size = n + 4
        var a = [Double](repeating: 0, count: size * size)
        var b = [Double](repeating: 0, count: size * 3)
        for i in 0..<n {
            a[i * size + i] = 1 // φ(0)
            for j in (i + 1)..<max(i + 1, n) {
                let phi = Self.phi(Self.distance(source[i], source[j]) / support)
                a[i * size + j] = phi
                a[j * size + i] = phi
            }
            let p = source[i]
            for (c, v) in [1, p.x, p.y, p.z].enumerated() {
                a[i * size + n + c] = v
                a[(n + c) * size + i] = v
            }
            b[i * 3] = target[i].x; b[i * 3 + 1] = target[i].y; b[i * 3 + 2] = target[i].z
        }
        let x = try LinearAlgebra.solve(a, n: size, b, columns: 3)
        self.support = support
        centres = source
        weights = (0..<n).map { SIMD3(x[$0 * 3], x[$0 * 3 + 1], x[$0 * 3 + 2]) }
        func row(_ c: Int) -> SIMD3<Double> { SIMD3(x[(n + c) * 3], x[(n + c) * 3 + 1], x[(n + c) * 3 + 2]) }
        let ax = row(1), ay = row(2), az = row(3)
        translation = row(0)
        linear = (SIMD3(ax.x, ay.x, az.x), SIMD3(ax.y, ay.y, az.y), SIMD3(ax.z, ay.z, az.z))
    }

    /// The mapped point `f(p)`.
    public func callAsFunction(_ p: SIMD3<Double>) -> SIMD3<Double> {
        var sum = translation + SIMD3((linear.0 * p).sum(), (linear.1 * p).sum(), (linear.2 * p).sum())
        let s2 = support * support
        for (c, w) in zip(centres, weights) {
            let d = p - c
            let r2 = (d * d).sum()
            if r2 < s2 { sum += w * Self.phi(r2.squareRoot() / support) }
        }
        return sum
    }

    /// φ at a radius in units of the support.
    @inline(__always) static func phi(_ t: Double) -> Double {
        guard t < 1 else { return 0 }
        let u = 1 - t
        return u * u * u * u * (4 * t + 1)
    }

    @inline(__always) static func distance(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double {
        let d = a - b
        return (d * d).sum().squareRoot()
    }

    /// A support radius that spans several landmark spacings: `factor` times
    /// the mean distance from each landmark to its nearest neighbour.
    public static func defaultSupport(for landmarks: [SIMD3<Double>], factor: Double = 6) -> Double {
        guard landmarks.count > 1 else { return 1 }
        var total = 0.0
        for (i, p) in landmarks.enumerated() {
            var nearest = Double.infinity
            for (j, q) in landmarks.enumerated() where j != i { nearest = min(nearest, distance(p, q)) }
            total += nearest
        }
        return factor * total / Double(landmarks.count)
    }
}
