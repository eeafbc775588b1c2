import Foundation
import GeometryKit
import HDF5Kit
import Workflow

/// The `predictions` artifact of `deepssm-predict`, read one subject at a
/// time: `predictions.h5`, a sample stack with `particles_world` float64
/// [n, M, 3] and, when the predicting stage knew the subjects' frames,
/// `particles_local` float64 [n, M, 3].
struct PredictedParticles {
    let url: URL
    private let stack: SampleStack
    let ids: [String]
    let numParticles: Int
    /// Whether local-frame particles are stored.
    let hasLocal: Bool
    /// Whether the PCA-K oracle's local-frame particles are stored.
    let hasOracle: Bool
    /// Whose predictions these are: `test`, or `validation` (`deepssm-predict`'s
    /// `subjects`; the attribute `subjects` is written for validation only).
    let subjects: String

    init(directory: URL) throws {
        url = directory.appendingPathComponent("predictions.h5")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw StageFailure("the predictions artifact \(directory.path) has no predictions.h5; connect "
                + "'predictions' to the 'predictions' output of a deepssm-predict stage")
        }
        do {
            stack = try SampleStack(contentsOf: url)
            let shape = try stack.sampleShape("particles_world")
            guard shape.count == 2, shape[1] == 3 else {
                throw StageFailure("'particles_world' in \(url.path) has per-subject shape \(shape), not [M, 3]; "
                    + "rerun the deepssm-predict stage")
            }
            numParticles = shape[0]
            hasLocal = try stack.arrayNames.contains("particles_local")
            hasOracle = try stack.arrayNames.contains("oracle_local")
            subjects = try stack.file.attributeNames().contains("subjects") ? try stack.file.stringAttribute("subjects") : "test"
        } catch let error as HDF5Error {
            throw StageFailure("cannot read the predictions: \(error)")
        }
        ids = stack.ids
    }

    func index(of id: String) -> Int? { stack.index(of: id) }

    func world(_ i: Int) throws -> ParticleSet { try particles("particles_world", i) }

    /// Local-frame particles, or nil when the predictions hold world ones only.
    func local(_ i: Int) throws -> ParticleSet? { hasLocal ? try particles("particles_local", i) : nil }

    /// The oracle's local-frame particles, or nil when none are stored.
    func oracleLocal(_ i: Int) throws -> ParticleSet? { hasOracle ? try particles("oracle_local", i) : nil }

    private func particles(_ name: String, _ i: Int) throws -> ParticleSet {
        do {
            return ParticleSet(flattened: try stack.sample(name, i, as: Double.self))
        } catch let error as HDF5Error {
            throw StageFailure("cannot read '\(name)' of subject '\(ids[i])' from \(url.path): \(error)")
        }
    }
}
