import Foundation
import GeometryKit
import HDF5Kit
import Workflow

/// The training pool (augment's `pool` artifact) as loader samples: `index.json`
/// and the sample-stack files it lists, originals first.
struct PoolSamples: LoaderSampleSource {
    private struct Index: Decodable {
        var files: [String]
        var count: Int
        var numModes: Int
        enum CodingKeys: String, CodingKey { case files, count, numModes = "num_modes" }
    }

    let count: Int
    let numModes: Int
    private let stacks: [SampleStack]
    /// Global position of each file's first sample.
    private let starts: [Int]

    init(directory: URL) throws {
        let indexURL = directory.appendingPathComponent("index.json")
        let index: Index
        do {
            index = try JSONDecoder().decode(Index.self, from: Data(contentsOf: indexURL))
        } catch {
            throw StageFailure("cannot read the training pool index \(indexURL.path) (\(error)); rerun 'augment'")
        }
        do {
            stacks = try index.files.map { try SampleStack(contentsOf: directory.appendingPathComponent($0)) }
        } catch let error as HDF5Error {
            throw StageFailure("cannot open a training pool file: \(error); rerun 'augment'")
        }
        var starts: [Int] = [], total = 0
        for stack in stacks {
            starts.append(total)
            total += stack.count
        }
        guard total == index.count, total > 0 else {
            throw StageFailure("the training pool index \(indexURL.path) announces \(index.count) samples but its files hold \(total); rerun 'augment'")
        }
        self.starts = starts
        count = total
        numModes = index.numModes
    }

    private func locate(_ index: Int) -> (SampleStack, Int) {
        precondition(index >= 0 && index < count, "pool index out of range")
        var file = starts.count - 1
        while starts[file] > index { file -= 1 }
        return (stacks[file], index - starts[file])
    }

    func id(_ index: Int) throws -> String {
        let (stack, local) = locate(index)
        return stack.ids[local]
    }

    func image(_ index: Int) throws -> ImageVolume {
        let (stack, local) = locate(index)
        return try wrap { try stack.image("images", local) }
    }

    func scores(_ index: Int) throws -> [Double]? {
        let (stack, local) = locate(index)
        return try wrap { try stack.sample("scores", local, as: Double.self) }
    }

    private func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as HDF5Error {
            throw StageFailure("cannot read the training pool: \(error); rerun 'augment'")
        }
    }
}

/// Held-out subjects (a cohort artifact, e.g. `split`'s `test`) as loader samples;
/// their true PCA scores are the projection of their world particles onto a PCA
/// model, when one is given.
struct CohortSamples: LoaderSampleSource {
    let count: Int
    private let subjects: SampleStack
    private let pca: PCAModel?

    init(directory: URL, pca: URL?) throws {
        let url = directory.appendingPathComponent("subjects.h5")
        do {
            subjects = try SampleStack(contentsOf: url)
            self.pca = try pca.map { try PCAModel.loadForProjection($0) }
        } catch let error as HDF5Error {
            throw StageFailure("cannot read the held-out subjects: \(error); rerun the stage that produced them")
        }
        count = subjects.count
    }

    func id(_ index: Int) throws -> String { subjects.ids[index] }

    func image(_ index: Int) throws -> ImageVolume {
        do { return try subjects.image("images", index) } catch let error as HDF5Error {
            throw StageFailure("cannot read a held-out image: \(error)")
        }
    }

    func scores(_ index: Int) throws -> [Double]? {
        guard let pca else { return nil }
        do {
            let particles = try subjects.sample("particles_world", index, as: Double.self)
            guard particles.count == pca.mean.count else {
                throw StageFailure("held-out subject \(subjects.ids[index]) has \(particles.count / 3) particles where the PCA model has \(pca.numParticles); connect the PCA model of the same correspondence model")
            }
            return pca.project(ParticleSet(flattened: particles))
        } catch let error as HDF5Error {
            throw StageFailure("cannot read held-out particles: \(error)")
        }
    }
}

extension PCAModel {
    /// Reads augment's `pca` artifact: `pca.h5` itself or a directory holding it
    /// (`mean`, `eigenvalues`, `modes`, attribute `num_modes`; training scores are not needed here).
    static func loadForProjection(_ url: URL) throws -> PCAModel {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        let fileURL = isDirectory.boolValue ? url.appendingPathComponent("pca.h5") : url
        let file = try HDF5File(contentsOf: fileURL)
        let mean = try file.read("mean", as: Double.self)
        let eigenvalues = try file.read("eigenvalues", as: Double.self)
        let modes = try file.read("modes", as: Double.self, shape: [mean.count, eigenvalues.count])
        let numModes = try file.intsAttribute("num_modes").first ?? eigenvalues.count
        guard numModes >= 1, numModes <= eigenvalues.count, mean.count % 3 == 0 else {
            throw HDF5Error(.wrongShape, file: fileURL, object: "/@num_modes",
                            "num_modes \(numModes) is outside 1...\(eigenvalues.count), or the mean is not 3M long; rerun 'augment'")
        }
        return PCAModel(mean: mean, eigenvalues: eigenvalues, modes: modes, scores: [], numModes: numModes)
    }
}
