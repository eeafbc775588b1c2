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
    private let projection: PCAProjection?

    init(directory: URL, pca: URL?) throws {
        let url = directory.appendingPathComponent("subjects.h5")
        do {
            subjects = try SampleStack(contentsOf: url)
            projection = try pca.map { try PCAProjection(contentsOf: $0) }
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
        guard let projection else { return nil }
        do {
            return try projection.project(subjects.sample("particles_world", index, as: Double.self))
        } catch let error as HDF5Error {
            throw StageFailure("cannot read held-out particles: \(error)")
        }
    }
}

/// The first K modes of a `pca.h5` model: scores = modesᵀ (x − mean).
struct PCAProjection: Sendable {
    let mean: [Double]
    /// Row-major [3M, N] as stored.
    let modes: [Double]
    let modeCount: Int
    let numModes: Int

    init(contentsOf url: URL) throws {
        // The artifact is `pca.h5` itself or a directory holding it.
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        let pcaFile = try HDF5File(contentsOf: isDirectory.boolValue ? url.appendingPathComponent("pca.h5") : url)
        mean = try pcaFile.read("mean", as: Double.self)
        let modesDataset = try pcaFile.dataset("modes")
        guard modesDataset.shape.count == 2, modesDataset.shape[0] == mean.count else {
            throw HDF5Error(.wrongShape, file: url, object: "modes",
                            "has shape \(modesDataset.shape) where [\(mean.count), N] was expected")
        }
        modes = try modesDataset.read(as: Double.self)
        modeCount = modesDataset.shape[1]
        numModes = try pcaFile.intsAttribute("num_modes").first ?? modeCount
    }

    func project(_ particles: [Double]) throws -> [Double] {
        guard particles.count == mean.count else {
            throw StageFailure("held-out particles have \(particles.count / 3) points where the PCA model has \(mean.count / 3); use the PCA model of the same correspondence model")
        }
        var scores = [Double](repeating: 0, count: numModes)
        for row in 0..<mean.count {
            let centred = particles[row] - mean[row]
            for k in 0..<numModes { scores[k] += modes[row * modeCount + k] * centred }
        }
        return scores
    }
}
