import Foundation
import GeometryKit
import ShapeModel
import TorchKit
import Workflow

/// Predicts the shape in new images with a trained model: registers each to
/// the training reference (`ImageAligner`), samples it on the model's input
/// grid, normalises it as the loaders did, predicts the shape as
/// `deepssm-predict` does (PCA scores, or TL-DeepSSM's particles), and places particles
/// and the warped mean surface in the image's own frame.
public struct NewImagePredictor {
    public let model: InferenceModel
    public var aligner: ImageAligner
    /// Map the image's intensities linearly onto the training images' mean and std.
    public var matchIntensity = true
    private let network: TrainedShapeModel

    /// One image's results (what `write` puts in its directory).
    public struct Prediction {
        public var image: URL
        public var alignment: ImageAlignment
        /// Particles in the model (PCA, world) frame and in the image's frame.
        public var modelParticles: ParticleSet
        public var imageParticles: ParticleSet
        /// The mean mesh warped onto the prediction, in the image's frame.
        public var surface: Mesh
        public var scores: [Double]
    }

    /// `device`: cpu, cuda or auto.
    public init(model: InferenceModel, aligner: ImageAligner, device: String = "auto", threads: Int = 1) throws {
        self.model = model
        self.aligner = aligner
        guard let requested = TorchDevice(rawValue: device) else {
            throw StageFailure("'\(device)' is not a device; use cpu, cuda or auto")
        }
        network = try TrainedShapeModel(checkpoint: model.checkpoint, device: try DeepSSMTrain.torch { () -> TorchDevice in
            try Torch.setThreads(max(threads, 1))
            return try Torch.resolve(requested)
        })
    }

    /// Reads an NRRD image, or says which file is not one and what to do.
    public static func readImage(_ url: URL) throws -> ImageVolume {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw StageFailure("no image at \(url.path); pass NRRD files (.nrrd or .nhdr) that exist")
        }
        do {
            return try NRRD.read(url)
        } catch {
            throw StageFailure("cannot read \(url.path) as an NRRD image: \(error); convert it to NRRD (e.g. with 3D Slicer or ITK's image IO)")
        }
    }

    /// Predicts one image.
    public func predict(_ url: URL) throws -> Prediction {
        let image = try Self.readImage(url)
        let alignment = try aligner.align(image, file: url, to: model.reference)
        let grid = model.grid
        var input = ImageAligner.resample(image, through: alignment, dims: grid.dims, spacing: grid.spacing, origin: grid.origin,
                                          footprint: model.normalization.filter == .area ? image.spacing : nil)
        if matchIntensity {
            let (mean, std) = InferenceModel.statistics(input.voxels)
            guard std > 0, std.isFinite else {
                throw StageFailure("\(url.path) is constant where it overlaps the training reference; it holds no anatomy to predict from")
            }
            let a = model.imageStd / std, b = model.imageMean - a * mean
            for v in input.voxels.indices { input.voxels[v] = Float(a * Double(input.voxels[v]) + b) }
        }
        model.normalization.normalizeIntensities(&input.voxels)
        // The network's scores through the PCA, or TL-DeepSSM's particles.
        let shape = try network.predict(images: input.voxels, normalization: model.normalization, pca: model.pca)[0]
        let (scores, world) = (shape.scores, shape.world)
        let toImage = { (p: SIMD3<Double>) in alignment.apply(model.worldToImage.apply(p)) }
        let imageParticles = ParticleSet(points: world.points.map(toImage))

        let warp = try MeshWarp.fit(.thinPlate, from: model.meanParticles, to: world)
        var surface = MeshWarp.apply(warp, to: model.meanMesh, threads: aligner.threads)
        surface.points = surface.points.map(toImage)
        // A mirror turns the triangles' orientation inside out; keep normals outward.
        let flips = alignment.mirrored != (model.worldToImage.determinantSign < 0)
        if flips { surface.triangles = surface.triangles.map { SIMD3($0.x, $0.z, $0.y) } }
        return Prediction(image: url, alignment: alignment, modelParticles: world, imageParticles: imageParticles,
                          surface: surface, scores: scores)
    }
}

extension SimilarityTransform {
    /// The sign of the rotation part's determinant (−1 for a reflection).
    var determinantSign: Double {
        let (a, b, c) = rotation
        let det = a.x * (b.y * c.z - b.z * c.y) - a.y * (b.x * c.z - b.z * c.x) + a.z * (b.x * c.y - b.y * c.x)
        return det < 0 ? -1 : 1
    }
}
