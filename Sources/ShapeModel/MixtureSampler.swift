import Foundation

/// Draws scores from a Gaussian mixture fitted to the training scores by EM;
/// the number of components (1...maxComponents) is the one with the lowest BIC.
/// The base shape is the training shape nearest the draw (Mahalanobis, pooled Σ).
public struct MixtureSampler: ShapeSampler {
    public struct Component: Sendable {
        public var weight: Double
        public var statistics: ScoreStatistics
    }

    public let scores: [[Double]]
    public let pooled: ScoreStatistics
    public let components: [Component]
    /// BIC of each tried component count (index 0 ↔ one component); nil where EM failed.
    public let bic: [Double?]

    /// Fits mixtures of 1...maxComponents components; `seed` drives the
    /// k-means++ initialisation so fits are reproducible.
    public init(scores: [[Double]], maxComponents: Int = 5, seed: UInt64 = 0) throws {
        let pooled = try ScoreStatistics(scores)
        let n = scores.count, k = pooled.dimension
        let parametersPerComponent = k + k * (k + 1) / 2
        var best: (bic: Double, components: [Component])?
        var bics: [Double?] = []
        for c in 1...max(1, maxComponents) {
            guard c <= n else { bics.append(nil); continue }
            guard let fit = Self.fitEM(scores, components: c, pooled: pooled, seed: seed) else {
                bics.append(nil)
                continue
            }
            let p = Double(c - 1 + c * parametersPerComponent)
            let bic = -2 * fit.logLikelihood + p * Foundation.log(Double(n))
            bics.append(bic)
            if best == nil || bic < best!.bic { best = (bic, fit.components) }
        }
        guard let chosen = best else {
            throw ShapeModelError("mixture sampler: expectation-maximisation failed for every component count; use sampler 'kde' or 'gaussian'")
        }
        self.scores = scores
        self.pooled = pooled
        self.components = chosen.components
        self.bic = bics
    }

    public func draw(_ random: inout SampleRandom) -> SampleDraw {
        var u = random.uniform(), chosen = components.count - 1
        for (i, c) in components.enumerated() {
            if u < c.weight { chosen = i; break }
            u -= c.weight
        }
        let s = components[chosen].statistics
        let w = (0..<s.dimension).map { _ in random.normal() }
        let e = s.multiply(s.cholesky, w)
        let z = (0..<s.dimension).map { s.mean[$0] + e[$0] }
        return SampleDraw(scores: z, base: pooled.nearest(to: z, among: scores))
    }

    static func logDensity(_ z: [Double], _ s: ScoreStatistics) -> Double {
        -0.5 * (Double(s.dimension) * Foundation.log(2 * Double.pi) + s.logDeterminant + s.mahalanobisSquared(z, s.mean))
    }

    /// EM with full covariances; sklearn-style ridge (1e-6 of the mean variance)
    /// keeps components positive definite. Nil when a component collapses.
    static func fitEM(_ x: [[Double]], components c: Int, pooled: ScoreStatistics,
                      seed: UInt64) -> (components: [Component], logLikelihood: Double)? {
        let n = x.count, k = pooled.dimension
        let ridge = 1e-6 * (0..<k).reduce(0) { $0 + pooled.covariance[$1 * k + $1] } / Double(k)
        // k-means++ seeding in Mahalanobis distance.
        var random = SampleRandom(seed: seed, index: UInt64(c))
        var centres = [x[random.index(below: n)]]
        while centres.count < c {
            let d = x.map { p in centres.map { pooled.mahalanobisSquared(p, $0) }.min()! }
            let total = d.reduce(0, +)
            guard total > 0 else { return nil }
            var u = random.uniform() * total, pick = n - 1
            for i in 0..<n { if u < d[i] { pick = i; break }; u -= d[i] }
            centres.append(x[pick])
        }
        var comps: [Component] = []
        for centre in centres {
            guard let s = try? ScoreStatistics(mean: centre, covariance: pooled.covariance) else { return nil }
            comps.append(Component(weight: 1 / Double(c), statistics: s))
        }
        var previous = -Double.infinity
        var logLikelihood = -Double.infinity
        for _ in 0..<300 {
            // E step, in log space for stability.
            var resp = [[Double]](repeating: [Double](repeating: 0, count: c), count: n)
            logLikelihood = 0
            for i in 0..<n {
                let logs = comps.map { Foundation.log($0.weight) + logDensity(x[i], $0.statistics) }
                let top = logs.max()!
                let sum = logs.reduce(0) { $0 + Foundation.exp($1 - top) }
                logLikelihood += top + Foundation.log(sum)
                for j in 0..<c { resp[i][j] = Foundation.exp(logs[j] - top) / sum }
            }
            if logLikelihood - previous < 1e-9 * abs(logLikelihood) { break }
            previous = logLikelihood
            // M step.
            var next: [Component] = []
            for j in 0..<c {
                let nj = (0..<n).reduce(0) { $0 + resp[$1][j] }
                guard nj > 1e-8 else { return nil }
                var mean = [Double](repeating: 0, count: k)
                for i in 0..<n { for a in 0..<k { mean[a] += resp[i][j] * x[i][a] } }
                for a in 0..<k { mean[a] /= nj }
                var cov = [Double](repeating: 0, count: k * k)
                for i in 0..<n {
                    for a in 0..<k { for b in 0..<k { cov[a * k + b] += resp[i][j] * (x[i][a] - mean[a]) * (x[i][b] - mean[b]) } }
                }
                for a in 0..<(k * k) { cov[a] /= nj }
                for a in 0..<k { cov[a * k + a] += ridge }
                guard let s = try? ScoreStatistics(mean: mean, covariance: cov) else { return nil }
                next.append(Component(weight: nj / Double(n), statistics: s))
            }
            comps = next
        }
        return (comps, logLikelihood)
    }
}
