import Foundation
import GeometryKit

/// A linear shape model of corresponding particle sets (docs/reference.md §2): mean shape,
/// principal modes, their variances, and the raw (unwhitened) PCA scores of the
/// training shapes. Shapes are flattened row-major `[x1, y1, z1, x2, ...]`.
public struct PCAModel: Sendable, Equatable {
    /// The mean shape, length 3M.
    public var mean: [Double]
    /// Every mode's variance (covariance eigenvalue, 1/(N−1) normalisation),
    /// descending, length N.
    public var eigenvalues: [Double]
    /// Unit modes as columns of a row-major `3M × N` matrix: `modes[r * N + k]`.
    public var modes: [Double]
    /// Raw scores of the training shapes on the first `numModes` modes, one row per shape.
    public var scores: [[Double]]
    /// K: how many modes the scores, samplers and networks use.
    public var numModes: Int

    public init(mean: [Double], eigenvalues: [Double], modes: [Double], scores: [[Double]], numModes: Int) {
        precondition(modes.count == mean.count * eigenvalues.count, "modes must be 3M × N")
        precondition(numModes >= 1 && numModes <= eigenvalues.count, "numModes must be in 1...N")
        self.mean = mean
        self.eigenvalues = eigenvalues
        self.modes = modes
        self.scores = scores
        self.numModes = numModes
    }

    /// Number of particles M.
    public var numParticles: Int { mean.count / 3 }
    /// Number of modes stored (N, the number of training shapes).
    public var modeCount: Int { eigenvalues.count }

    /// Fraction of the total variance the first `numModes` modes explain.
    public var varianceKept: Double {
        let total = eigenvalues.reduce(0, +)
        return total > 0 ? eigenvalues.prefix(numModes).reduce(0, +) / total : 1
    }

    /// Fits the model to training shapes with the Gram trick: the N × N matrix
    /// `Xcᵀ Xc / (N − 1)` is eigen-decomposed instead of the 3M × 3M covariance,
    /// and each eigenvector is lifted to a mode `Xc v` and normalised.
    ///
    /// - Parameters:
    ///   - numModes: K; 0 selects the smallest K whose cumulative variance ratio
    ///     reaches `percentVariability`.
    ///   - percentVariability: fraction in (0, 1], used when `numModes` is 0.
    public static func fit(_ shapes: [ParticleSet], numModes: Int, percentVariability: Double = 0.95) throws -> PCAModel {
        let n = shapes.count
        guard n >= 2 else {
            throw ShapeModelError("pca needs at least 2 training shapes, got \(n); connect a larger training cohort")
        }
        let dim = shapes[0].count * 3
        if let bad = shapes.firstIndex(where: { $0.count * 3 != dim }) {
            throw ShapeModelError("pca: shape \(bad) has \(shapes[bad].count) particles but shape 0 has \(dim / 3); every shape needs the same particle count")
        }
        var mean = [Double](repeating: 0, count: dim)
        let columns = shapes.map(\.flattened)
        for c in columns { for r in 0..<dim { mean[r] += c[r] } }
        for r in 0..<dim { mean[r] /= Double(n) }
        let centred = columns.map { c in (0..<dim).map { c[$0] - mean[$0] } }

        var gram = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in i..<n {
                var s = 0.0
                for r in 0..<dim { s += centred[i][r] * centred[j][r] }
                gram[i * n + j] = s / Double(n - 1)
                gram[j * n + i] = gram[i * n + j]
            }
        }
        let eigen = LinearAlgebra.symmetricEigen(gram, n: n)
        // Centring leaves one null direction (and more with repeated shapes): its
        // lifted vector is rounding noise, so it is stored as a zero mode of zero variance.
        let tiny = max(eigen.values.first ?? 0, 0) * 1e-12
        var eigenvalues = [Double](repeating: 0, count: n)
        var modes = [Double](repeating: 0, count: dim * n)
        for k in 0..<n where eigen.values[k] > tiny {
            eigenvalues[k] = eigen.values[k]
            var column = [Double](repeating: 0, count: dim)
            for i in 0..<n {
                let v = eigen.vectors[i * n + k]
                for r in 0..<dim { column[r] += centred[i][r] * v }
            }
            let norm = column.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for r in 0..<dim { modes[r * n + k] = column[r] / norm }
        }

        let k = numModes > 0 ? numModes : selectModes(eigenvalues, fraction: percentVariability)
        guard k <= n else {
            throw ShapeModelError("pca: num_dim is \(k) but there are only \(n) training shapes; lower num_dim to at most \(n)")
        }
        var model = PCAModel(mean: mean, eigenvalues: eigenvalues, modes: modes, scores: [], numModes: k)
        model.scores = shapes.map { model.project($0) }
        return model
    }

    /// The smallest K whose cumulative variance ratio is at least `fraction`
    /// (the reference's `cumDst >= percent_variability` rule).
    public static func selectModes(_ eigenvalues: [Double], fraction: Double) -> Int {
        let total = eigenvalues.reduce(0, +)
        guard total > 0 else { return 1 }
        var sum = 0.0
        for (k, value) in eigenvalues.enumerated() {
            sum += value
            // A relative slack absorbs rounding when the ratio lands exactly on the fraction.
            if sum / total >= fraction - 1e-12 { return k + 1 }
        }
        return eigenvalues.count
    }

    /// The shape with raw scores `z` on the first `z.count` modes: `μ + U[:, :K] z`.
    public func reconstruct(scores z: [Double]) -> ParticleSet {
        precondition(z.count <= modeCount, "more scores than modes")
        let n = modeCount
        var flat = mean
        modes.withUnsafeBufferPointer { u in
            for r in 0..<flat.count {
                var s = flat[r]
                for k in 0..<z.count { s += u[r * n + k] * z[k] }
                flat[r] = s
            }
        }
        return ParticleSet(flattened: flat)
    }

    /// Raw scores of a shape on the first `numModes` modes: `U[:, :K]ᵀ (p − μ)`.
    public func project(_ shape: ParticleSet) -> [Double] {
        let flat = shape.flattened
        precondition(flat.count == mean.count, "shape has \(flat.count / 3) particles, model has \(numParticles)")
        let n = modeCount
        var z = [Double](repeating: 0, count: numModes)
        modes.withUnsafeBufferPointer { u in
            for r in 0..<flat.count {
                let d = flat[r] - mean[r]
                for k in 0..<numModes { z[k] += u[r * n + k] * d }
            }
        }
        return z
    }
}
