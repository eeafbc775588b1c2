import Foundation

/// Kernel density sampler in PCA score space (docs/reference.md §2): pick a training shape
/// uniformly, add Gaussian noise whose scale is the KDE bandwidth.
public struct KDESampler: ShapeSampler {
    /// How the bandwidth turns into noise.
    public enum Noise: String, Codable, Sendable, CaseIterable {
        /// The reference's behaviour: i.i.d. noise with standard deviation h in raw
        /// score units. h is a squared Mahalanobis distance, a unitless number
        /// near 1, while raw scores span tens of mm·√M: new shapes are near copies.
        case reference
        /// Noise `Σ^{1/2} w`, w ~ N(0, h I): a Gaussian kernel with covariance h Σ,
        /// the same shape as the data's spread and a size set by the bandwidth.
        case whitened
    }

    public let scores: [[Double]]
    public let statistics: ScoreStatistics
    /// h: mean nearest-neighbour squared Mahalanobis distance over K.
    public let bandwidth: Double
    public let noise: Noise

    public init(scores: [[Double]], noise: Noise) throws {
        let statistics = try ScoreStatistics(scores)
        self.scores = scores
        self.statistics = statistics
        self.noise = noise
        self.bandwidth = try Self.bandwidth(scores, statistics: statistics)
    }

    /// `h = mean_i min_{j ≠ i, d ≠ 0} d(z_i, z_j) / K` with d the squared
    /// Mahalanobis distance; shapes without a distinct neighbour are left out.
    public static func bandwidth(_ scores: [[Double]], statistics: ScoreStatistics) throws -> Double {
        var sum = 0.0, counted = 0
        for i in scores.indices {
            var nearest = Double.infinity
            for j in scores.indices where j != i {
                let d = statistics.mahalanobisSquared(scores[i], scores[j])
                if d > 0, d < nearest { nearest = d }
            }
            if nearest.isFinite { sum += nearest; counted += 1 }
        }
        guard counted > 0 else {
            throw ShapeModelError("kde bandwidth: every training shape has the same pca scores; the training cohort needs distinct shapes")
        }
        return sum / Double(counted) / Double(statistics.dimension)
    }

    public func draw(_ random: inout SampleRandom) -> SampleDraw {
        let base = random.index(below: scores.count)
        let k = statistics.dimension
        let w = (0..<k).map { _ in random.normal() }
        var z = scores[base]
        switch noise {
        case .reference:
            for a in 0..<k { z[a] += bandwidth * w[a] }
        case .whitened:
            let e = statistics.multiply(statistics.squareRoot, w.map { $0 * bandwidth.squareRoot() })
            for a in 0..<k { z[a] += e[a] }
        }
        return SampleDraw(scores: z, base: base)
    }
}
