import Foundation
import GeometryKit
import ShapeModel
import TorchKit
import Workflow

/// Everything inference on a new image needs from a trained workflow: the
/// network checkpoint, the loaders' grid and normalisation it was trained
/// with, the PCA that un-whitens its scores, the training reference image the
/// new image is registered to, and the mean shape warped to each prediction.
///
/// The training reference is the voxel-wise mean of the training subjects'
/// images in the loaders' grid (the network's input grid). Every training image
/// lies in that frame, so a new image registered to it is presented to the
/// network in the pose the network learned; the mean is the anatomy of no single
/// subject (no one subject's shape or pose biases the alignment) and is less
/// noisy than any one image. It is made from the training cohort when the model
/// is loaded (a few images, under a second), so no stage's output changes.
public struct InferenceModel {
    public var checkpoint: NetworkCheckpoint
    public var normalization: LoaderNormalization
    public var pca: PCAModel
    /// The training reference, in the loaders' grid (raw intensities).
    public var reference: ImageVolume
    /// The training subjects' mean per-image intensity mean and std in the model
    /// grid: a new image's intensities are mapped linearly onto these (so a
    /// scanner's other calibration or window does not reach the network).
    public var imageMean: Double
    public var imageStd: Double
    /// The mean dense mesh and its particles, world (Procrustes) frame.
    public var meanMesh: Mesh
    public var meanParticles: ParticleSet
    /// World (Procrustes) frame → the training images' frame: the similarity
    /// that best maps every training subject's world particles onto its image-frame particles.
    public var worldToImage: SimilarityTransform
    /// Where the model came from (for messages).
    public var source: String

    /// The model input grid (the loaders' downsampled grid).
    public var grid: (dims: SIMD3<Int>, spacing: SIMD3<Double>, origin: SIMD3<Double>) {
        let n = normalization
        return (SIMD3(n.dims[0], n.dims[1], n.dims[2]), SIMD3(n.spacing[0], n.spacing[1], n.spacing[2]),
                SIMD3(n.origin[0], n.origin[1], n.origin[2]))
    }

    init(checkpoint: NetworkCheckpoint, normalization: LoaderNormalization, pca: PCAModel, reference: ImageVolume,
         imageMean: Double, imageStd: Double, meanMesh: Mesh, meanParticles: ParticleSet,
         worldToImage: SimilarityTransform, source: String) {
        self.checkpoint = checkpoint
        self.normalization = normalization
        self.pca = pca
        self.reference = reference
        self.imageMean = imageMean
        self.imageStd = imageStd
        self.meanMesh = meanMesh
        self.meanParticles = meanParticles
        self.worldToImage = worldToImage
        self.source = source
    }

    /// A model from a workflow's artefacts: `deepssm-train`'s model directory
    /// (`best_model.h5` or `final_model.h5`, `normalization.json`), augment's
    /// `pca` directory and the training cohort (`split.train`).
    public init(modelDirectory: URL, which: String = "best", pca pcaURL: URL, trainingCohort: URL,
                source: String) throws {
        let modelFile = modelDirectory.appendingPathComponent("\(which)_model.h5")
        guard FileManager.default.fileExists(atPath: modelFile.path) else {
            throw StageFailure("no \(which)_model.h5 in \(modelDirectory.path) (\(source)); rerun 'deepssm-train' or choose --which best|final")
        }
        checkpoint = try DeepSSMTrain.torch { try NetworkCheckpoint(contentsOf: modelFile) }
        normalization = try LoaderNormalization(contentsOf: LoaderArtifact.normalizationURL(in: modelDirectory))
        do {
            pca = try PCAModel(contentsOf: pcaURL)
        } catch {
            throw StageFailure("cannot read the PCA model \(pcaURL.path): \(error); rerun 'augment'")
        }
        let cohort = try Cohort(directory: trainingCohort)
        meanMesh = try cohort.meanMesh()
        meanParticles = try cohort.meanParticles()
        var world: [SIMD3<Double>] = [], local: [SIMD3<Double>] = []
        var sum: [Double]? = nil
        var means: [Double] = [], stds: [Double] = []
        let cohortGrid = cohort.grid
        let gridDims = SIMD3(normalization.dims[0], normalization.dims[1], normalization.dims[2])
        for i in 0..<cohort.count {
            world += try cohort.worldParticles(i).points
            local += try cohort.localParticles(i).points
            let image = try cohort.image(i)
            if sum == nil { sum = [Double](repeating: 0, count: image.count) }
            for v in image.voxels.indices { sum![v] += Double(image.voxels[v]) }
            let (m, s) = Self.statistics(image.resampled(dims: gridDims, filter: normalization.filter).voxels)
            means.append(m)
            stds.append(s)
        }
        guard let sum, cohort.count > 0 else {
            throw StageFailure("the training cohort \(trainingCohort.path) has no subjects; connect the cohort the model was trained on (split.train)")
        }
        worldToImage = SimilarityTransform.umeyama(from: world, to: local)
        let mean = ImageVolume(dims: cohortGrid.dims, spacing: cohortGrid.spacing, origin: cohortGrid.origin,
                               voxels: sum.map { Float($0 / Double(cohort.count)) })
        self.source = source
        imageMean = means.reduce(0, +) / Double(means.count)
        imageStd = stds.reduce(0, +) / Double(stds.count)
        reference = mean.resampled(dims: gridDims, filter: normalization.filter)
        try check(pcaFile: pcaURL)
    }

    /// The model, its loaders and its PCA must agree on K, the particles and the grid.
    func check(pcaFile: URL) throws {
        if checkpoint.isTL {
            try TrainedShapeModel.check(checkpoint, normalization: normalization, pca: pca, source: source)
        } else {
            let k = checkpoint.outputCount
            guard k == normalization.numModes, k == pca.numModes else {
                throw StageFailure("the model (\(source)) predicts \(k) scores but its normalization.json whitens \(normalization.numModes) and the PCA model \(pcaFile.path) keeps \(pca.numModes) modes; use the PCA model the network was trained with (the same workflow's augment.pca)")
            }
        }
        guard meanParticles.count == pca.numParticles else {
            throw StageFailure("the training cohort's mean shape has \(meanParticles.count) particles but the PCA model \(pcaFile.path) has \(pca.numParticles); use the cohort and PCA of one workflow")
        }
        let shape = checkpoint.inputShape
        guard [shape.width, shape.height, shape.depth] == normalization.dims else {
            throw StageFailure("the model (\(source)) takes \(shape) images but its normalization.json describes a \(normalization.dims) grid; retrain with these loaders")
        }
    }

    /// Mean and population std of voxels.
    static func statistics(_ voxels: [Float]) -> (mean: Double, std: Double) {
        var statistics = RunningStatistics()
        for v in voxels { statistics.add(Double(v)) }
        return (statistics.mean, statistics.populationStd)
    }
}
