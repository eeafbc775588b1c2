import Foundation
import GeometryKit
import HDF5Kit
import ShapeModel
import TorchKit
import XCTest
@testable import Stages

/// A small trained-model layout for inference tests, written from a real tiny
/// cohort: the cohort (training subjects and their images), a PCA of their
/// world particles, loaders' normalisation over their images on a 60³ grid (the
/// network's smallest input) and a network checkpoint trained for a few steps
/// on those images (enough that each image gets scores of its own, so the
/// frame tests see the network respond to how an image was resampled).
struct InferenceFixture {
    let root: URL
    let cohort: Cohort
    var model: URL { root.appendingPathComponent("model") }
    var pca: URL { root.appendingPathComponent("pca") }
    var cohortURL: URL { cohort.directory }
    static let numModes = 3
    static let dims = SIMD3(60, 60, 60)
    static let trainingSteps = 8

    /// One fixture for a test class (made in about a minute on a loaded machine):
    /// build it in `setUp`, remove `root` in the class's `tearDown`.
    init(subjects: Int = 5) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("inference-fixture-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var params = CohortFixture.params(subjects: subjects, seed: 11)
        params.voxel_size = 2.0
        params.margin = 10
        let directory = root.appendingPathComponent("cohort")
        try CohortFixture.write(FemurCohortGenerator(params, threads: 2), to: directory)
        cohort = try Cohort(directory: directory)
        try FileManager.default.createDirectory(at: pca, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        let shapes = try (0..<cohort.count).map { try cohort.worldParticles($0) }
        let fitted = try PCAModel.fit(shapes, numModes: Self.numModes)
        try fitted.write(to: pca.appendingPathComponent(PCAModel.fileName))
        try writeModel(pca: fitted, numModes: Self.numModes)
    }

    /// normalization.json and best_model.h5 for `numModes` scores.
    func writeModel(pca: PCAModel, numModes: Int) throws {
        var intensity: [Float] = []
        for i in 0..<cohort.count { intensity += try cohort.image(i).resampled(dims: Self.dims).voxels }
        let (mean, std) = InferenceModel.statistics(intensity)
        let scores = pca.scores.map { Array($0.prefix(numModes)) }
        let scoreMean = (0..<numModes).map { k in scores.map { $0[k] }.reduce(0, +) / Double(scores.count) }
        // Population std per mode, as the loaders whiten.
        let scoreStd = (0..<numModes).map { k -> Double in
            var sum = 0.0
            for row in scores { sum += (row[k] - scoreMean[k]) * (row[k] - scoreMean[k]) }
            return (sum / Double(scores.count)).squareRoot()
        }
        let grid = cohort.grid
        let spacing = grid.spacing * SIMD3<Double>(grid.dims) / SIMD3<Double>(Self.dims)
        try LoaderNormalization(intensityMean: mean, intensityStd: std, scoreMean: scoreMean,
                                scoreStd: scoreStd, downFactor: 1, batchSize: 2,
                                dims: [Self.dims.x, Self.dims.y, Self.dims.z], spacing: [spacing.x, spacing.y, spacing.z],
                                origin: [grid.origin.x, grid.origin.y, grid.origin.z], trainCount: cohort.count,
                                valCount: 0, testCount: 0)
            .write(to: model.appendingPathComponent("normalization.json"))
        let shape = InputShape(depth: Self.dims.z, height: Self.dims.y, width: Self.dims.x)
        let network = try DeepSSMNetwork(inputShape: shape, outputCount: numModes, seed: 5, learningRate: 1e-3)
        var images: [Float] = [], targets: [Float] = []
        for i in 0..<cohort.count {
            var voxels = try cohort.image(i).resampled(dims: Self.dims).voxels
            for v in voxels.indices { voxels[v] = Float((Double(voxels[v]) - mean) / std) }
            images += voxels
            for k in 0..<numModes { targets.append(Float((scores[i][k] - scoreMean[k]) / scoreStd[k])) }
        }
        for _ in 0..<Self.trainingSteps { _ = try network.trainBatch(images: images, shape: shape, targets: targets) }
        try NetworkCheckpoint(network: network).write(to: model.appendingPathComponent("best_model.h5"))
    }

    func load() throws -> InferenceModel {
        try InferenceModel(modelDirectory: model, pca: pca, trainingCohort: cohortURL, source: "fixture")
    }

    /// Subject `i`'s image written as NRRD, moved by `p ↦ R p + t` (R about
    /// `axis` by `degrees`), intensities `gain · v + offset`, on a grid padded
    /// by `pad` voxels whose origin follows the motion loosely.
    func movedImage(_ i: Int, degrees: Double, axis: SIMD3<Double>, translation t: SIMD3<Double>,
                    gain: Float = 1, offset: Float = 0, pad: Int = 8, name: String) throws -> URL {
        try movedImage(try cohort.image(i), degrees: degrees, axis: axis, translation: t, gain: gain, offset: offset,
                       pad: pad, name: name)
    }

    /// `image` moved and re-scanned in the same way.
    func movedImage(_ image: ImageVolume, degrees: Double, axis: SIMD3<Double>, translation t: SIMD3<Double>,
                    gain: Float = 1, offset: Float = 0, pad: Int = 8, name: String) throws -> URL {
        let r = ImageRegistrationMath.rotation(degrees, about: axis)
        let rT = [r[0], r[3], r[6], r[1], r[4], r[7], r[2], r[5], r[8]]
        let background = ImageAligner.background(image)
        let dims = image.dims &+ SIMD3(repeating: 2 * pad)
        let origin = image.origin - SIMD3<Double>(repeating: Double(pad)) * image.spacing + t + SIMD3(3, -4, 2)
        var moved = ImageVolume(dims: dims, spacing: image.spacing, origin: origin)
        var v = 0
        for k in 0..<dims.z { for j in 0..<dims.y { for x in 0..<dims.x {
            let q = origin + SIMD3(Double(x), Double(j), Double(k)) * image.spacing
            moved.voxels[v] = gain * image.sample(atPoint: ImageRegistrationMath.apply(rT, q - t), outside: background) + offset
            v += 1
        }}}
        let url = root.appendingPathComponent("\(name).nrrd")
        try moved.writeNRRD(to: url)
        return url
    }
}

/// Rotations for the tests (row-major), from GeometryKit.
enum ImageRegistrationMath {
    static func rotation(_ degrees: Double, about axis: SIMD3<Double>) -> [Double] {
        AxisAngleRotation(degrees: degrees, about: axis).matrix
    }

    static func apply(_ m: [Double], _ p: SIMD3<Double>) -> SIMD3<Double> { AxisAngleRotation.apply(m, p) }
}
