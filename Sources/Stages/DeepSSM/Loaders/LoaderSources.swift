import Foundation
import ShapeModel
import GeometryKit
import Workflow

/// What the loaders read from a set of samples: the training pool or the held-out cohort.
protocol LoaderSampleSource: Sendable {
    var count: Int { get }
    func id(_ index: Int) throws -> String
    func image(_ index: Int) throws -> ImageVolume
    /// Raw world PCA scores (K values), or nil where the truth is unknown.
    func truthScores(_ index: Int) throws -> [Double]?
}

extension TrainingPool: LoaderSampleSource {
    func truthScores(_ index: Int) throws -> [Double]? { try scores(index) }
}

/// Held-out subjects (a cohort artifact, e.g. `split`'s `test`) as loader
/// samples; their true PCA scores are the projection of their world particles
/// onto the PCA model, when one is given.
struct HeldOutSubjects: LoaderSampleSource {
    let cohort: Cohort
    let pca: PCAModel?

    init(cohort: Cohort, pca: PCAModel?) throws {
        if let pca, pca.numParticles != cohort.numParticles {
            throw StageFailure("the held-out subjects have \(cohort.numParticles) particles but the PCA model has \(pca.numParticles); connect the PCA model of the same correspondence model")
        }
        self.cohort = cohort
        self.pca = pca
    }

    var count: Int { cohort.count }
    func id(_ index: Int) throws -> String { cohort.ids[index] }
    func image(_ index: Int) throws -> ImageVolume { try cohort.image(index) }
    func truthScores(_ index: Int) throws -> [Double]? {
        try pca.map { try $0.project(cohort.worldParticles(index)) }
    }
}
