import Foundation

/// Draws scores from one multivariate normal fitted to the training scores; the
/// base shape is the training shape nearest the draw in Mahalanobis distance.
public struct GaussianSampler: ShapeSampler {
    public let scores: [[Double]]
    public let statistics: ScoreStatistics

    public init(scores: [[Double]]) throws {
        self.scores = scores
        self.statistics = try ScoreStatistics(scores)
    }

    public func draw(_ random: inout SampleRandom) -> SampleDraw {
        let k = statistics.dimension
        let w = (0..<k).map { _ in random.normal() }
        let e = statistics.multiply(statistics.cholesky, w)
        let z = (0..<k).map { statistics.mean[$0] + e[$0] }
        return SampleDraw(scores: z, base: statistics.nearest(to: z, among: scores))
    }
}
