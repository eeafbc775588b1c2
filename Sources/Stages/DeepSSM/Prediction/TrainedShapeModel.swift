import Foundation
import GeometryKit
import ShapeModel
import TorchKit
import Workflow

/// A trained `deepssm-train` model ready to predict shapes from images: the
/// DeepSSM network (whitened PCA scores, un-whitened and reconstructed with the
/// PCA) or TL-DeepSSM (image encoder → correspondence decoder: world particles,
/// whose PCA scores are their projection on the K modes).
enum TrainedShapeModel {
    case network(DeepSSMNetwork)
    case tl(TLDeepSSMNetwork)

    /// One predicted shape: whitened and raw PCA scores, and world particles.
    struct Shape {
        var whitened: [Float]
        var scores: [Double]
        var world: ParticleSet

        /// Adds `other` elementwise (for averaging predictions of one image).
        mutating func add(_ other: Shape) {
            whitened = zip(whitened, other.whitened).map { $0 + $1 }
            scores = zip(scores, other.scores).map { $0 + $1 }
            world = ParticleSet(points: zip(world.points, other.world.points).map { $0 + $1 })
        }

        /// Divides every value by `n`.
        mutating func divide(by n: Int) {
            whitened = whitened.map { $0 / Float(n) }
            scores = scores.map { $0 / Double(n) }
            world = ParticleSet(points: world.points.map { $0 / Double(n) })
        }
    }

    /// Checks that `checkpoint` fits the loaders' K and the PCA model; `source` names the model in messages.
    static func check(_ checkpoint: NetworkCheckpoint, normalization: LoaderNormalization, pca: PCAModel,
                      source: String) throws {
        if checkpoint.isTL {
            let p = checkpoint.particleValues ?? 0
            guard p == 3 * pca.numParticles, normalization.numModes == pca.numModes else {
                throw StageFailure("the TL-DeepSSM model (\(source)) predicts \(p / 3) particles, the PCA model has \(pca.numParticles) and keeps \(pca.numModes) modes, the loaders whiten \(normalization.numModes); use the PCA model and loaders the model was trained with")
            }
        } else {
            let k = checkpoint.outputCount
            guard k == normalization.numModes, k == pca.numModes else {
                throw StageFailure("K mismatch: the model predicts \(k) scores, the loaders whiten \(normalization.numModes) and the PCA model keeps \(pca.numModes) modes; train on loaders made from this PCA model")
            }
        }
    }

    init(checkpoint: NetworkCheckpoint, device: TorchDevice) throws {
        self = try DeepSSMTrain.torch { () -> TrainedShapeModel in
            if checkpoint.isTL { return .tl(try checkpoint.makeTLNetwork(device: device)) }
            return .network(try checkpoint.makeNetwork(device: device))
        }
    }

    var inputShape: InputShape {
        switch self {
        case .network(let network): network.inputShape
        case .tl(let network): network.inputShape
        }
    }

    var deviceName: String {
        switch self {
        case .network(let network): network.device.rawValue
        case .tl(let network): network.device.rawValue
        }
    }

    /// `fp32` only for TL-DeepSSM; the network takes what its device can do.
    func apply(precision: String?) throws {
        switch self {
        case .network(let network): try StagePrecision.apply(precision, to: network)
        case .tl:
            if let precision, precision != "fp32" {
                throw StageFailure("precision '\(precision)' is not available for a TL-DeepSSM model, which predicts in fp32; remove precision")
            }
        }
    }

    /// The shapes of `images` (whole volumes of `inputShape`), in order.
    func predict(images: [Float], normalization: LoaderNormalization, pca: PCAModel) throws -> [Shape] {
        switch self {
        case .network(let network):
            let k = network.outputCount
            let whitened = try DeepSSMTrain.torch { try network.evaluateBatch(images: images, shape: network.inputShape) }
            return (0..<(whitened.count / k)).map { s in
                let predicted = Array(whitened[(s * k)..<((s + 1) * k)])
                let scores = normalization.unwhiten(predicted)
                return Shape(whitened: predicted, scores: scores, world: pca.reconstruct(scores: scores))
            }
        case .tl(let network):
            let p = network.particleValues
            let particles = try DeepSSMTrain.torch { try network.predict(images: images).particles }
            return (0..<(particles.count / p)).map { s in
                let world = ParticleSet(flattened: particles[(s * p)..<((s + 1) * p)].map { Double($0) })
                let scores = pca.project(world)
                return Shape(whitened: normalization.whiten(scores), scores: scores, world: world)
            }
        }
    }
}
