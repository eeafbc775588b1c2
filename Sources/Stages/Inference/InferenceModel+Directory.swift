import Foundation
import GeometryKit
import ShapeModel
import TorchKit
import Workflow

/// A self-contained model directory for `ssmflow predict --model-dir`, written
/// by `ssmflow predict --save-model`: everything inference needs, without the
/// workflow or its cache.
///
/// - `model.h5`: the network checkpoint (as `deepssm-train` writes it)
/// - `normalization.json`: the loaders' grid and statistics
/// - `pca.h5`: the PCA model (as `augment` writes it)
/// - `reference.nrrd`: the training reference (mean training image, model grid)
/// - `mean_dense.vtk`, `mean_particles.particles`: the mean shape, model frame
/// - `inference.json`: the training images' intensity mean and std and the
///   model → training image frame similarity
extension InferenceModel {
    struct Settings: Codable {
        var imageMean: Double
        var imageStd: Double
        var rotation: [Double]
        var scale: Double
        var translation: [Double]
        enum CodingKeys: String, CodingKey {
            case imageMean = "image_mean", imageStd = "image_std"
            case rotation = "model_to_image_rotation", scale = "model_to_image_scale"
            case translation = "model_to_image_translation"
        }
    }

    static let directoryFiles = ["model.h5", "normalization.json", "pca.h5", "reference.nrrd", "mean_dense.vtk",
                                 "mean_particles.particles", "inference.json"]

    /// Writes the model directory (created; files replaced).
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try DeepSSMTrain.torch { try checkpoint.write(to: directory.appendingPathComponent("model.h5")) }
        try normalization.write(to: directory.appendingPathComponent("normalization.json"))
        try pca.write(to: directory.appendingPathComponent("pca.h5"))
        try reference.writeNRRD(to: directory.appendingPathComponent("reference.nrrd"))
        try meanMesh.write(to: directory.appendingPathComponent("mean_dense.vtk"))
        try meanParticles.write(to: directory.appendingPathComponent("mean_particles.particles"))
        let (a, b, c) = worldToImage.rotation
        let settings = Settings(imageMean: imageMean, imageStd: imageStd, rotation: [a.x, a.y, a.z, b.x, b.y, b.z, c.x, c.y, c.z],
                                scale: worldToImage.scale,
                                translation: [worldToImage.translation.x, worldToImage.translation.y, worldToImage.translation.z])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(settings).write(to: directory.appendingPathComponent("inference.json"), options: .atomic)
    }

    /// Reads a model directory written by `write(to:)`.
    public init(directory: URL) throws {
        let missing = Self.directoryFiles.filter { !FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }
        guard missing.isEmpty else {
            throw StageFailure("\(directory.path) is not a model directory: it lacks \(missing.joined(separator: ", ")); write one with 'ssmflow predict --workflow WF --save-model DIR'")
        }
        let file = { (name: String) in directory.appendingPathComponent(name) }
        let settings: Settings
        do {
            settings = try JSONDecoder().decode(Settings.self, from: Data(contentsOf: file("inference.json")))
        } catch {
            throw StageFailure("cannot read \(file("inference.json").path): \(error); write the model directory again with 'ssmflow predict --save-model'")
        }
        guard settings.rotation.count == 9, settings.translation.count == 3 else {
            throw StageFailure("\(file("inference.json").path) has a rotation of \(settings.rotation.count) values and a translation of \(settings.translation.count) (needs 9 and 3); write the model directory again")
        }
        let r = settings.rotation
        let pca: PCAModel
        do { pca = try PCAModel(contentsOf: file("pca.h5")) } catch {
            throw StageFailure("cannot read the PCA model \(file("pca.h5").path): \(error); write the model directory again")
        }
        self.init(checkpoint: try DeepSSMTrain.torch { try NetworkCheckpoint(contentsOf: file("model.h5")) },
                  normalization: try LoaderNormalization(contentsOf: file("normalization.json")), pca: pca,
                  reference: try NewImagePredictor.readImage(file("reference.nrrd")),
                  imageMean: settings.imageMean, imageStd: settings.imageStd,
                  meanMesh: try Mesh.read(from: file("mean_dense.vtk")),
                  meanParticles: try ParticleSet.read(from: file("mean_particles.particles")),
                  worldToImage: SimilarityTransform(rotation: (SIMD3(r[0], r[1], r[2]), SIMD3(r[3], r[4], r[5]), SIMD3(r[6], r[7], r[8])),
                                                    scale: settings.scale,
                                                    translation: SIMD3(settings.translation[0], settings.translation[1], settings.translation[2])),
                  source: directory.path)
        try check(pcaFile: file("pca.h5"))
    }
}
