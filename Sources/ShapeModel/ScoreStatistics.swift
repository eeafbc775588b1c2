import Foundation

/// Mean and unbiased covariance of K-dimensional PCA score vectors, with the
/// factorisations the samplers need: Cholesky (Mahalanobis distances, Gaussian
/// densities) and the symmetric square root Σ^{1/2} (mapping whitened draws back).
public struct ScoreStatistics: Sendable {
    public let dimension: Int
    public let mean: [Double]
    /// Row-major K × K, 1/(N−1) normalisation.
    public let covariance: [Double]
    /// Lower Cholesky factor L of the covariance (Σ = L Lᵀ), row-major.
    public let cholesky: [Double]
    /// Symmetric square root S of the covariance (Σ = S S), row-major.
    public let squareRoot: [Double]

    /// Statistics of `scores` (N rows of K values).
    public init(_ scores: [[Double]]) throws {
        let n = scores.count
        guard n >= 2, let k = scores.first?.count, k >= 1 else {
            throw ShapeModelError("score statistics need at least 2 score vectors, got \(n); use more training shapes")
        }
        var mean = [Double](repeating: 0, count: k)
        for z in scores { for a in 0..<k { mean[a] += z[a] } }
        for a in 0..<k { mean[a] /= Double(n) }
        var cov = [Double](repeating: 0, count: k * k)
        for z in scores {
            for a in 0..<k { for b in 0..<k { cov[a * k + b] += (z[a] - mean[a]) * (z[b] - mean[b]) } }
        }
        for i in 0..<(k * k) { cov[i] /= Double(n - 1) }
        try self.init(mean: mean, covariance: cov)
    }

    /// Statistics from a given mean and covariance (a mixture component).
    public init(mean: [Double], covariance: [Double]) throws {
        let k = mean.count
        guard let chol = Self.choleskyFactor(covariance, n: k) else {
            throw ShapeModelError("the covariance of the \(k) pca scores is singular (fewer distinct training shapes than dimensions?); lower num_dim or add training shapes")
        }
        let eigen = LinearAlgebra.symmetricEigen(covariance, n: k)
        var root = [Double](repeating: 0, count: k * k)
        for a in 0..<k {
            for b in 0..<k {
                var s = 0.0
                for m in 0..<k { s += eigen.vectors[a * k + m] * max(eigen.values[m], 0).squareRoot() * eigen.vectors[b * k + m] }
                root[a * k + b] = s
            }
        }
        self.dimension = k
        self.mean = mean
        self.covariance = covariance
        self.cholesky = chol
        self.squareRoot = root
    }

    /// Squared Mahalanobis distance `(a − b)ᵀ Σ⁻¹ (a − b)`, by forward substitution with L.
    public func mahalanobisSquared(_ a: [Double], _ b: [Double]) -> Double {
        let k = dimension
        var y = [Double](repeating: 0, count: k)
        var sum = 0.0
        for i in 0..<k {
            var s = a[i] - b[i]
            for j in 0..<i { s -= cholesky[i * k + j] * y[j] }
            y[i] = s / cholesky[i * k + i]
            sum += y[i] * y[i]
        }
        return sum
    }

    /// log det Σ.
    public var logDeterminant: Double {
        (0..<dimension).reduce(0) { $0 + 2 * Foundation.log(cholesky[$1 * dimension + $1]) }
    }

    /// `M v` for a row-major K × K matrix M.
    public func multiply(_ matrix: [Double], _ v: [Double]) -> [Double] {
        (0..<dimension).map { a in (0..<dimension).reduce(0) { $0 + matrix[a * dimension + $1] * v[$1] } }
    }

    /// The index of the row of `points` nearest to `z` in Mahalanobis distance
    /// (first on ties).
    public func nearest(to z: [Double], among points: [[Double]]) -> Int {
        var best = 0, bestDistance = Double.infinity
        for (i, p) in points.enumerated() {
            let d = mahalanobisSquared(z, p)
            if d < bestDistance { best = i; bestDistance = d }
        }
        return best
    }

    /// Lower Cholesky factor of a symmetric positive-definite matrix, or nil when
    /// it is not numerically positive definite.
    public static func choleskyFactor(_ a: [Double], n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        let scale = (0..<n).map { a[$0 * n + $0] }.max() ?? 0
        for i in 0..<n {
            for j in 0...i {
                var s = a[i * n + j]
                for m in 0..<j { s -= l[i * n + m] * l[j * n + m] }
                if i == j {
                    guard s > 1e-12 * scale, s > 0 else { return nil }
                    l[i * n + i] = s.squareRoot()
                } else {
                    l[i * n + j] = s / l[j * n + j]
                }
            }
        }
        return l
    }
}
