import XCTest
@testable import ShapeModel

final class SamplerTests: XCTestCase {
    /// Four points with covariance diag(2/3, 8/3): every nearest neighbour is at
    /// squared Mahalanobis distance 1/(2/3) + 4/(8/3) = 3, so h = 3 / K = 1.5.
    private let diamond: [[Double]] = [[1, 0], [-1, 0], [0, 2], [0, -2]]

    private func cloud(_ n: Int, seed: UInt64, centre: [Double] = [0, 0, 0], spread: [Double] = [4, 2, 1]) -> [[Double]] {
        var random = SampleRandom(seed: seed, index: 0)
        return (0..<n).map { _ in zip(centre, spread).map { $0 + $1 * random.normal() } }
    }

    func test_kdeBandwidth_matchesHandComputedValue() throws {
        let stats = try ScoreStatistics(diamond)
        XCTAssertEqual(stats.covariance, [2.0 / 3, 0, 0, 8.0 / 3].map { $0 }, "covariance")
        XCTAssertEqual(try KDESampler.bandwidth(diamond, statistics: stats), 1.5, accuracy: 1e-12)
    }

    func test_kdeBandwidth_skipsZeroDistances() throws {
        // A duplicate shape has distance 0 to its twin; the rule takes the nearest non-zero one.
        let scores = diamond + [[1, 0]]
        let stats = try ScoreStatistics(scores)
        let d = { stats.mahalanobisSquared(scores[$0], scores[$1]) }
        let nearest = [min(d(0, 2), d(0, 3)), min(d(1, 2), d(1, 3)), min(d(2, 0), d(2, 1)), min(d(3, 0), d(3, 1)), min(d(4, 2), d(4, 3))]
        XCTAssertEqual(try KDESampler.bandwidth(scores, statistics: stats), nearest.reduce(0, +) / 5 / 2, accuracy: 1e-12)
    }

    func test_kdeReferenceNoise_hasStandardDeviationBandwidthInRawUnits() throws {
        let kde = try KDESampler(scores: diamond, noise: .reference)
        var sum = 0.0, count = 0
        for i in 0..<20_000 {
            var random = SampleRandom(seed: 7, index: UInt64(i))
            let draw = kde.draw(&random)
            for a in 0..<2 { let e = draw.scores[a] - diamond[draw.base][a]; sum += e * e; count += 1 }
        }
        XCTAssertEqual((sum / Double(count)).squareRoot(), 1.5, accuracy: 0.03)
    }

    func test_kdeWhitenedNoise_hasCovarianceBandwidthTimesSigma() throws {
        let kde = try KDESampler(scores: diamond, noise: .whitened)
        var cov = [Double](repeating: 0, count: 4)
        let n = 40_000
        for i in 0..<n {
            var random = SampleRandom(seed: 9, index: UInt64(i))
            let draw = kde.draw(&random)
            let e = (0..<2).map { draw.scores[$0] - diamond[draw.base][$0] }
            for a in 0..<2 { for b in 0..<2 { cov[a * 2 + b] += e[a] * e[b] / Double(n) } }
        }
        XCTAssertEqual(cov[0], 1.5 * 2 / 3, accuracy: 0.03)
        XCTAssertEqual(cov[3], 1.5 * 8 / 3, accuracy: 0.1)
        XCTAssertEqual(cov[1], 0, accuracy: 0.05)
    }

    func test_everySampler_drawIsAFunctionOfSeedAndIndexOnly() throws {
        let scores = cloud(30, seed: 1)
        for kind in SamplerKind.allCases {
            let sampler = try kind.make(scores: scores, seed: 3)
            var a = SampleRandom(seed: 42, index: 17), b = SampleRandom(seed: 42, index: 17), c = SampleRandom(seed: 42, index: 18)
            let first = sampler.draw(&a)
            _ = sampler.draw(&c)
            XCTAssertEqual(first, sampler.draw(&b), "\(kind)")
            XCTAssertNotEqual(first, sampler.draw(&c), "\(kind)")
        }
    }

    func test_gaussianSampler_matchesMeanAndPicksNearestBase() throws {
        let scores = cloud(40, seed: 2, centre: [10, -5, 3])
        let sampler = try GaussianSampler(scores: scores)
        var mean = [0.0, 0, 0]
        for i in 0..<20_000 {
            var random = SampleRandom(seed: 5, index: UInt64(i))
            let draw = sampler.draw(&random)
            for a in 0..<3 { mean[a] += draw.scores[a] / 20_000 }
            if i < 50 {
                let d = scores.map { sampler.statistics.mahalanobisSquared(draw.scores, $0) }
                XCTAssertEqual(draw.base, d.firstIndex(of: d.min()!))
            }
        }
        for a in 0..<3 { XCTAssertEqual(mean[a], sampler.statistics.mean[a], accuracy: 0.1) }
    }

    func test_mixtureSampler_choosesTwoComponentsForTwoSeparatedClusters() throws {
        let scores = cloud(30, seed: 3, centre: [-30, 0, 0], spread: [1, 1, 1]) + cloud(30, seed: 4, centre: [30, 0, 0], spread: [1, 1, 1])
        let sampler = try MixtureSampler(scores: scores, maxComponents: 4, seed: 11)
        XCTAssertEqual(sampler.components.count, 2, "bic: \(sampler.bic)")
        let weights = sampler.components.map(\.weight).sorted()
        XCTAssertEqual(weights[0], 0.5, accuracy: 1e-6)
    }

    func test_mixtureSampler_choosesOneComponentForOneCloud() throws {
        let sampler = try MixtureSampler(scores: cloud(40, seed: 6), maxComponents: 4, seed: 11)
        XCTAssertEqual(sampler.components.count, 1, "bic: \(sampler.bic)")
    }

    func test_sampleRandom_streamsDifferPerIndexAndRepeatPerSeed() {
        var a = SampleRandom(seed: 1, index: 1), b = SampleRandom(seed: 1, index: 2), c = SampleRandom(seed: 2, index: 1)
        let x = a.next()
        XCTAssertNotEqual(x, b.next())
        XCTAssertNotEqual(x, c.next())
        var again = SampleRandom(seed: 1, index: 1)
        XCTAssertEqual(x, again.next())
    }
}
