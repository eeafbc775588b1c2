import Foundation

/// One draw of a shape sampler: new raw PCA scores and the training shape whose
/// image is warped to make the new sample's image.
public struct SampleDraw: Sendable, Equatable {
    public var scores: [Double]
    /// Index of the base training shape.
    public var base: Int

    public init(scores: [Double], base: Int) {
        self.scores = scores
        self.base = base
    }
}

/// A generative model of PCA scores fitted to the training shapes' scores.
/// `draw` consumes only the generator it is given, so a sample depends on its
/// own seeded stream and nothing else.
public protocol ShapeSampler: Sendable {
    func draw(_ random: inout SampleRandom) -> SampleDraw
}

/// The sampler a workflow selects with `sampler:`.
public enum SamplerKind: String, Codable, Sendable, CaseIterable {
    /// Kernel density estimate around the training scores (the reference's default).
    case kde
    /// One multivariate normal fitted to the training scores.
    case gaussian
    /// A Gaussian mixture, its component count chosen by BIC.
    case mixture

    /// The sampler of this kind fitted to `scores` (N rows of K raw scores).
    /// `seed` only affects fitting (the mixture's initialisation).
    public func make(scores: [[Double]], noise: KDESampler.Noise = .whitened,
                     maxComponents: Int = 5, seed: UInt64 = 0) throws -> any ShapeSampler {
        switch self {
        case .kde: return try KDESampler(scores: scores, noise: noise)
        case .gaussian: return try GaussianSampler(scores: scores)
        case .mixture: return try MixtureSampler(scores: scores, maxComponents: maxComponents, seed: seed)
        }
    }
}
