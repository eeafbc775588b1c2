import Foundation

/// Dense linear algebra for the small systems of shape modelling (Gram matrices
/// of tens of shapes, thin-plate-spline systems of a few hundred landmarks).
/// Matrices are row-major `[Double]` of `n × n` (or `n × m`).
public enum LinearAlgebra {
    /// Eigen-decomposition of a symmetric `n × n` matrix by cyclic Jacobi rotations.
    /// Returns eigenvalues in descending order and the matching unit eigenvectors
    /// as columns of a row-major `n × n` matrix (`vectors[i * n + k]` is component
    /// i of eigenvector k). Accurate to machine precision for well-separated
    /// eigenvalues; `n` up to a few hundred.
    public static func symmetricEigen(_ matrix: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
        precondition(matrix.count == n * n, "matrix must be n × n")
        var a = matrix
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        let scale = max(a.map(abs).max() ?? 0, .leastNormalMagnitude)
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<n { for q in (p + 1)..<max(p + 1, n) { off += a[p * n + q] * a[p * n + q] } }
            if off.squareRoot() <= 1e-15 * scale * Double(n) { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) {
                    let apq = a[p * n + q]
                    if abs(apq) <= 1e-300 { continue }
                    // Rotation angle that zeroes a[p][q] (Golub & Van Loan, Alg. 8.4.2).
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { a[$0 * n + $0] > a[$1 * n + $1] }
        let values = order.map { a[$0 * n + $0] }
        var vectors = [Double](repeating: 0, count: n * n)
        for (k, col) in order.enumerated() {
            // Fix the sign so the largest component is positive: deterministic modes.
            var big = 0
            for i in 0..<n where abs(v[i * n + col]) > abs(v[big * n + col]) { big = i }
            let sign: Double = v[big * n + col] < 0 ? -1 : 1
            for i in 0..<n { vectors[i * n + k] = sign * v[i * n + col] }
        }
        return (values, vectors)
    }

    /// Solves `A X = B` for a square `n × n` matrix A and `n × m` right-hand sides
    /// B (row-major) by LU decomposition with partial pivoting.
    public static func solve(_ matrix: [Double], n: Int, _ rhs: [Double], columns m: Int) throws -> [Double] {
        precondition(matrix.count == n * n && rhs.count == n * m, "solve: shapes do not match")
        var a = matrix, b = rhs
        let scale = max(a.map(abs).max() ?? 0, .leastNormalMagnitude)
        for k in 0..<n {
            var pivot = k
            for i in (k + 1)..<max(k + 1, n) where abs(a[i * n + k]) > abs(a[pivot * n + k]) { pivot = i }
            if abs(a[pivot * n + k]) <= 1e-13 * scale {
                throw NumericalError("linear system is singular (column \(k) of \(n)); landmarks may coincide or be coplanar")
            }
            if pivot != k {
                for j in 0..<n { a.swapAt(k * n + j, pivot * n + j) }
                for j in 0..<m { b.swapAt(k * m + j, pivot * m + j) }
            }
            let inv = 1 / a[k * n + k]
            for i in (k + 1)..<max(k + 1, n) {
                let f = a[i * n + k] * inv
                if f == 0 { continue }
                a[i * n + k] = f
                for j in (k + 1)..<n { a[i * n + j] -= f * a[k * n + j] }
                for j in 0..<m { b[i * m + j] -= f * b[k * m + j] }
            }
        }
        for k in stride(from: n - 1, through: 0, by: -1) {
            for j in 0..<m {
                var s = b[k * m + j]
                for i in (k + 1)..<n { s -= a[k * n + i] * b[i * m + j] }
                b[k * m + j] = s / a[k * n + k]
            }
        }
        return b
    }
}

/// A numerical failure in shape-model arithmetic (singular system, degenerate input).
public struct NumericalError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
