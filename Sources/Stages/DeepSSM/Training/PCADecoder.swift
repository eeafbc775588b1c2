import Foundation
import ShapeModel
import Workflow

/// The fixed linear decoder of DeepSSM's fine-tuning (docs/reference.md §4, 6.1+): whitened
/// network outputs ŝ → world particles,
///
///     p = μ + U (σ ⊙ ŝ + m) = (μ + U m) + (U diag σ) ŝ,
///
/// with the PCA mean μ and first K unit modes U, and the loaders' per-mode score
/// mean m and std σ. It is exactly what `deepssm-predict` does to the network's
/// outputs, so a fine-tuned network needs no other prediction path.
struct PCADecoder: Sendable, Equatable {
    let numModes: Int
    /// U diag σ, row-major P × K (P = 3 × particles).
    let weight: [Float]
    /// μ + U m, P values.
    let bias: [Float]

    var particleValues: Int { bias.count }

    init(pca: PCAModel, normalization: LoaderNormalization) throws {
        let k = normalization.numModes
        guard pca.numModes == k, k <= pca.modeCount else {
            throw StageFailure("K mismatch: the loaders whiten \(k) scores but the PCA model keeps \(pca.numModes) modes; connect the PCA model the loaders were made from")
        }
        let p = pca.mean.count, n = pca.modeCount
        var weight = [Float](repeating: 0, count: p * k)
        var bias = [Float](repeating: 0, count: p)
        for r in 0..<p {
            var b = pca.mean[r]
            for j in 0..<k {
                let u = pca.modes[r * n + j]
                weight[r * k + j] = Float(u * normalization.scoreStd[j])
                b += u * normalization.scoreMean[j]
            }
            bias[r] = Float(b)
        }
        numModes = k
        self.weight = weight
        self.bias = bias
    }

    /// Particles (P values each) of `count` whitened score vectors laid end to end.
    func decode(_ whitened: [Float]) -> [Float] {
        precondition(whitened.count % numModes == 0, "whitened scores must be whole vectors of K values")
        let count = whitened.count / numModes, p = particleValues, k = numModes
        var out = [Float](repeating: 0, count: count * p)
        for s in 0..<count {
            for r in 0..<p {
                var value = Double(bias[r])
                for j in 0..<k { value += Double(weight[r * k + j]) * Double(whitened[s * k + j]) }
                out[s * p + r] = Float(value)
            }
        }
        return out
    }
}
