import Foundation
import ShapeModel
import GeometryKit
import HDF5Kit
import Workflow

/// The test subjects' frames: each subject's similarity transform from the
/// world (Procrustes) frame to its local image frame, fitted (Umeyama) to its
/// own world and local particles, as grooming aligned it.
struct TestSubjectFrames {
    private let cohort: Cohort

    /// `subjects`: `test` or `validation`, for the messages.
    init(directory: URL, ids: [String], subjects: String = "test") throws {
        cohort = try Cohort(directory: directory)
        if let missing = ids.first(where: { !cohort.ids.contains($0) }) {
            if subjects == "validation" && cohort.ids.isEmpty {
                throw StageFailure("validation image '\(missing)' has no subject in the validation cohort \(directory.path), which is empty: without real validation subjects the loaders validate on generated samples, which have no truth to compare with; hold some out with split.validation (e.g. --set split.train=35 --set split.validation=5) or predict the test subjects")
            }
            throw StageFailure("\(subjects) image '\(missing)' has no subject in the \(subjects) cohort \(directory.path) (it has \(cohort.ids.joined(separator: ", "))); connect the \(subjects) cohort the loaders were made from")
        }
    }

    func particles(_ id: String, frame: Frame) throws -> ParticleSet {
        guard let index = cohort.ids.firstIndex(of: id) else {
            throw StageFailure("no test subject '\(id)' in \(cohort.directory.path)")
        }
        return frame == .world ? try cohort.worldParticles(index) : try cohort.localParticles(index)
    }

    enum Frame { case world, local }

    func worldToLocal(_ id: String) throws -> SimilarityTransform {
        let world = try particles(id, frame: .world), local = try particles(id, frame: .local)
        guard world.count == local.count, world.count > 0 else {
            throw StageFailure("test subject '\(id)' has \(world.count) world but \(local.count) local particles; rerun the stage that produced the test cohort")
        }
        return SimilarityTransform.umeyama(from: world.points, to: local.points)
    }
}

/// Predicted scores and particles of the test subjects, written as the
/// `predictions` artifact: `predictions.h5` (a sample stack with `scores`
/// float64 [n, K], `particles_world` and, when frames are known,
/// `particles_local` float64 [n, M, 3]; with the truth known, also the PCA-K
/// oracle `oracle_world` and `oracle_local`) and `world/predicted_<id>.particles`,
/// `local/predicted_<id>.particles`.
struct PredictionSet {
    let ids: [String]
    let numModes: Int
    let numParticles: Int
    private var scores: [[Double]?]
    private var world: [ParticleSet?]
    private var local: [ParticleSet?]
    /// The true shapes projected onto the K modes (world, local), when the truth is known.
    private var oracle: [(world: ParticleSet, local: ParticleSet)?]

    init(ids: [String], numModes: Int, numParticles: Int) {
        self.ids = ids
        self.numModes = numModes
        self.numParticles = numParticles
        scores = Array(repeating: nil, count: ids.count)
        world = Array(repeating: nil, count: ids.count)
        local = Array(repeating: nil, count: ids.count)
        oracle = Array(repeating: nil, count: ids.count)
    }

    var filled: Int { scores.filter { $0 != nil }.count }

    mutating func set(_ index: Int, scores: [Double], world: ParticleSet, local: ParticleSet?) {
        self.scores[index] = scores
        self.world[index] = world
        self.local[index] = local
    }

    /// Particle RMSEs (world frame) of the prediction, the PCA mean and the
    /// PCA-K oracle against each subject's true particles; keeps the oracle's
    /// particles (world and local) for `write`.
    mutating func accuracy(pca: PCAModel, frames: TestSubjectFrames) throws -> ParticleAccuracy {
        let mean = ParticleSet(flattened: pca.mean)
        var subjects: [ParticleAccuracy.Subject] = []
        var truthScores: [[Double]] = []
        for (i, id) in ids.enumerated() {
            let truth = try frames.particles(id, frame: .world)
            guard truth.count == numParticles else {
                throw StageFailure("test subject '\(id)' has \(truth.count) particles but the PCA model has \(numParticles); connect the test cohort of the same shape model")
            }
            let z = pca.project(truth)
            truthScores.append(z)
            let projected = pca.reconstruct(scores: z)
            oracle[i] = (projected, try frames.worldToLocal(id).apply(projected))
            subjects.append(.init(id: id, prediction: ParticleAccuracy.rmse(world[i]!, truth),
                                  meanShape: ParticleAccuracy.rmse(mean, truth),
                                  oracle: ParticleAccuracy.rmse(projected, truth)))
        }
        let modes = ParticleAccuracy.modes(predicted: scores.map { $0! }, truth: truthScores, numParticles: numParticles)
        return ParticleAccuracy(numModes: numModes, subjects: subjects, modes: modes)
    }

    /// `subjects`: written as the root attribute `subjects` unless `test`.
    func write(to directory: URL, subjects: String = "test") throws {
        precondition(filled == ids.count, "every test subject must be predicted before writing")
        let hasLocal = local.allSatisfy { $0 != nil } && !ids.isEmpty
        let hasOracle = oracle.allSatisfy { $0 != nil } && !ids.isEmpty
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: directory.appendingPathComponent("world"), withIntermediateDirectories: true)
        if hasLocal {
            try fileManager.createDirectory(at: directory.appendingPathComponent("local"), withIntermediateDirectories: true)
        }
        do {
            let writer = try SampleStackWriter(creating: directory.appendingPathComponent("predictions.h5"), ids: ids)
            if subjects != "test" { try writer.setAttribute("subjects", .string(subjects)) }
            try writer.addArray("scores", type: .float64, sampleShape: [numModes], gzipLevel: nil)
            try writer.addArray("particles_world", type: .float64, sampleShape: [numParticles, 3])
            if hasLocal { try writer.addArray("particles_local", type: .float64, sampleShape: [numParticles, 3]) }
            if hasOracle {
                try writer.addArray("oracle_world", type: .float64, sampleShape: [numParticles, 3])
                try writer.addArray("oracle_local", type: .float64, sampleShape: [numParticles, 3])
            }
            for i in ids.indices {
                try writer.put("scores", sample: i, scores[i]!)
                try writer.put("particles_world", sample: i, world[i]!.flattened)
                if hasLocal { try writer.put("particles_local", sample: i, local[i]!.flattened) }
                if hasOracle, let o = oracle[i] {
                    try writer.put("oracle_world", sample: i, o.world.flattened)
                    try writer.put("oracle_local", sample: i, o.local.flattened)
                }
            }
            try writer.finish()
        } catch let error as HDF5Error {
            throw StageFailure("cannot write the predictions: \(error)")
        }
        for (i, id) in ids.enumerated() {
            try world[i]!.write(to: directory.appendingPathComponent("world/predicted_\(id).particles"))
            if hasLocal {
                try local[i]!.write(to: directory.appendingPathComponent("local/predicted_\(id).particles"))
            }
        }
    }
}
