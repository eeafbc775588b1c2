import Foundation
import CWarpKernels

/// A 3-D interpolating thin-plate spline `f(p) = a + A p + Σ wᵢ U(|p − cᵢ|)` with
/// the 3-D biharmonic kernel U(r) = r (as ITK's `ThinPlateSplineKernelTransform`),
/// mapping each source landmark cᵢ exactly onto its target.
public struct ThinPlateSpline: Sendable {
    /// Landmark coordinates and kernel weights wᵢ, in double precision.
    public let cx: [Double], cy: [Double], cz: [Double]
    public let wx: [Double], wy: [Double], wz: [Double]
    /// The same in blocks of four single-precision lanes for the kernel sum,
    /// which runs ~10⁷ times per image: Float keeps ~10⁻⁵ mm here, far below the
    /// 0.05-voxel budget, and doubles the SIMD width.
    let blocks: [KernelBlock]
    /// Affine part: `translation + linear · p`, `linear` as its three rows.
    public let translation: SIMD3<Double>
    public let linear: (SIMD3<Double>, SIMD3<Double>, SIMD3<Double>)

    public var landmarkCount: Int { cx.count }

    /// Fits the spline taking `source[i]` to `target[i]` by solving the
    /// `(n + 4)²` system `[K P; Pᵀ 0] [w; a] = [y; 0]` once (LU, partial pivoting).
    /// Throws `NumericalError` when landmarks coincide or are coplanar.
    public init(from source: [SIMD3<Double>], to target: [SIMD3<Double>]) throws {
        precondition(source.count == target.count, "thin-plate spline: landmark counts differ")
        let n = source.count
        guard n >= 4 else { throw NumericalError("a 3-d thin-plate spline needs at least 4 landmarks, got \(n)") }
        let size = n + 4
        var a = [Double](repeating: 0, count: size * size)
        var b = [Double](repeating: 0, count: size * 3)
        for i in 0..<n {
            for j in (i + 1)..<max(i + 1, n) {
                let d = source[i] - source[j]
                let r = (d * d).sum().squareRoot()
                a[i * size + j] = r
                a[j * size + i] = r
            }
            let p = source[i]
            for (c, v) in [1, p.x, p.y, p.z].enumerated() {
                a[i * size + n + c] = v
                a[(n + c) * size + i] = v
            }
            b[i * 3] = target[i].x; b[i * 3 + 1] = target[i].y; b[i * 3 + 2] = target[i].z
        }
        let x = try Self.solve(&a, size: size, &b)
        cx = source.map(\.x); cy = source.map(\.y); cz = source.map(\.z)
        wx = (0..<n).map { x[$0 * 3] }; wy = (0..<n).map { x[$0 * 3 + 1] }; wz = (0..<n).map { x[$0 * 3 + 2] }
        var builder = KernelBlock.Builder()
        for i in 0..<n { builder.append(source[i], SIMD3(x[i * 3], x[i * 3 + 1], x[i * 3 + 2])) }
        blocks = builder.finish()
        func row(_ c: Int) -> SIMD3<Double> { SIMD3(x[(n + c) * 3], x[(n + c) * 3 + 1], x[(n + c) * 3 + 2]) }
        // Solution rows n..n+3 hold the coefficients of 1, x, y, z for each output axis.
        let constant = row(0), ax = row(1), ay = row(2), az = row(3)
        translation = constant
        linear = (SIMD3(ax.x, ay.x, az.x), SIMD3(ax.y, ay.y, az.y), SIMD3(ax.z, ay.z, az.z))
    }

    /// The mapped point `f(p)`, in double precision throughout.
    public func callAsFunction(_ p: SIMD3<Double>) -> SIMD3<Double> {
        affine(p) + kernelSum(p)
    }

    /// `f(p)` with the kernel sum in single-precision SIMD lanes (about 3× faster;
    /// within ~10⁻⁵ mm of `f(p)` for femur-sized shapes): for the coarse warp grid.
    public func fast(_ p: SIMD3<Double>) -> SIMD3<Double> {
        affine(p) + KernelBlock.sum(p, blocks[...])
    }

    /// The affine part `a + A p` alone.
    @inlinable public func affine(_ p: SIMD3<Double>) -> SIMD3<Double> {
        translation + SIMD3((linear.0 * p).sum(), (linear.1 * p).sum(), (linear.2 * p).sum())
    }

    /// `Σ wᵢ |p − cᵢ|`: the part that costs n square roots.
    public func kernelSum(_ p: SIMD3<Double>) -> SIMD3<Double> {
        var sx = 0.0, sy = 0.0, sz = 0.0
        for i in 0..<cx.count {
            let dx = p.x - cx[i], dy = p.y - cy[i], dz = p.z - cz[i]
            let r = (dx * dx + dy * dy + dz * dz).squareRoot()
            sx += wx[i] * r; sy += wy[i] * r; sz += wz[i] * r
        }
        return SIMD3(sx, sy, sz)
    }

    /// In-place LU with partial pivoting of a row-major `size × size` matrix and
    /// three right-hand sides; unchecked pointer loops because this runs once per
    /// generated sample on a ~516² system.
    static func solve(_ a: inout [Double], size n: Int, _ b: inout [Double]) throws -> [Double] {
        let scale = max(a.lazy.map(abs).max() ?? 0, .leastNormalMagnitude)
        try a.withUnsafeMutableBufferPointer { a in
            try b.withUnsafeMutableBufferPointer { b in
                for k in 0..<n {
                    var pivot = k, big = abs(a[k * n + k])
                    for i in (k + 1)..<max(k + 1, n) where abs(a[i * n + k]) > big { pivot = i; big = abs(a[i * n + k]) }
                    if big <= 1e-13 * scale {
                        throw NumericalError("thin-plate spline system is singular (column \(k) of \(n)); landmarks coincide or are coplanar")
                    }
                    if pivot != k {
                        for j in 0..<n { a.swapAt(k * n + j, pivot * n + j) }
                        for j in 0..<3 { b.swapAt(k * 3 + j, pivot * 3 + j) }
                    }
                    let inv = 1 / a[k * n + k]
                    let rowK = a.baseAddress! + k * n
                    for i in (k + 1)..<max(k + 1, n) {
                        let rowI = a.baseAddress! + i * n
                        let f = rowI[k] * inv
                        if f == 0 { continue }
                        ssm_sub_scaled(rowI + k + 1, rowK + k + 1, f, Int32(n - k - 1))
                        b[i * 3] -= f * b[k * 3]; b[i * 3 + 1] -= f * b[k * 3 + 1]; b[i * 3 + 2] -= f * b[k * 3 + 2]
                    }
                }
                for k in stride(from: n - 1, through: 0, by: -1) {
                    for j in 0..<3 {
                        var s = b[k * 3 + j]
                        for i in (k + 1)..<n { s -= a[k * n + i] * b[i * 3 + j] }
                        b[k * 3 + j] = s / a[k * n + k]
                    }
                }
            }
        }
        return b
    }
}
