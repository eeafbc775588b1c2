import Foundation
import GeometryKit
import Workflow

/// The statistics that turn pool samples into network inputs and targets, and
/// back: `normalization.json` of the loaders artifact.
///
/// Images: `(voxel − intensity_mean) / intensity_std`, one global mean and std
/// over every voxel of the downsampled train+val images. Targets: PCA scores
/// z-scored per mode with the pool's mean and population std.
public struct LoaderNormalization: Codable, Sendable, Equatable {
    public var intensityMean: Double
    public var intensityStd: Double
    /// Per-mode mean of the raw world PCA scores (K values).
    public var scoreMean: [Double]
    /// Per-mode population std of the raw world PCA scores (K values).
    public var scoreStd: [Double]
    /// The per-axis downsampling factor applied to every image.
    public var downFactor: Double
    /// The training batch size the loaders were made for.
    public var batchSize: Int
    /// Grid of the downsampled images: dims (nx, ny, nz), spacing and origin in mm.
    public var dims: [Int]
    public var spacing: [Double]
    public var origin: [Double]
    public var trainCount: Int
    public var valCount: Int
    public var testCount: Int
    /// How the images were shrunk to `dims`; absent (nil) for trilinear, as
    /// loaders before the `downsample` parameter wrote them.
    public var downsample: ResampleFilter?
    /// The filter every image for this network must be shrunk with.
    public var filter: ResampleFilter { downsample ?? .linear }

    enum CodingKeys: String, CodingKey {
        case intensityMean = "intensity_mean", intensityStd = "intensity_std"
        case scoreMean = "score_mean", scoreStd = "score_std"
        case downFactor = "down_factor", batchSize = "batch_size", dims, spacing, origin
        case trainCount = "train_count", valCount = "val_count", testCount = "test_count"
        case downsample
    }

    /// K, the number of PCA modes.
    public var numModes: Int { scoreMean.count }

    /// Whitened network targets of raw PCA scores.
    public func whiten(_ scores: [Double]) -> [Float] {
        precondition(scores.count == numModes, "scores must have one value per mode")
        return (0..<numModes).map { Float((scores[$0] - scoreMean[$0]) / scoreStd[$0]) }
    }

    /// Raw PCA scores of whitened network outputs (the inverse of `whiten`).
    public func unwhiten(_ targets: [Float]) -> [Double] {
        precondition(targets.count == numModes, "targets must have one value per mode")
        return (0..<numModes).map { Double(targets[$0]) * scoreStd[$0] + scoreMean[$0] }
    }

    /// Normalises downsampled voxels in place.
    public func normalizeIntensities(_ voxels: inout [Float]) {
        let mean = intensityMean, scale = 1 / intensityStd
        for i in voxels.indices { voxels[i] = Float((Double(voxels[i]) - mean) * scale) }
    }

    /// Reads `normalization.json`.
    public init(contentsOf url: URL) throws {
        do {
            self = try JSONDecoder().decode(LoaderNormalization.self, from: Data(contentsOf: url))
        } catch {
            throw StageFailure("cannot read loader normalisation \(url.path) (\(error)); rerun the 'deepssm-loaders' stage")
        }
    }

    public init(intensityMean: Double, intensityStd: Double, scoreMean: [Double], scoreStd: [Double],
                downFactor: Double, batchSize: Int, dims: [Int], spacing: [Double], origin: [Double],
                trainCount: Int, valCount: Int, testCount: Int, downsample: ResampleFilter? = nil) {
        self.intensityMean = intensityMean
        self.intensityStd = intensityStd
        self.scoreMean = scoreMean
        self.scoreStd = scoreStd
        self.downFactor = downFactor
        self.batchSize = batchSize
        self.dims = dims
        self.spacing = spacing
        self.origin = origin
        self.trainCount = trainCount
        self.valCount = valCount
        self.testCount = testCount
        self.downsample = downsample
    }

    /// Writes `normalization.json` (sorted keys, so equal statistics give equal bytes).
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(self).write(to: url, options: .atomic)
    }
}
