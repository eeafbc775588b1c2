import Foundation
import HDF5Kit
import TorchKit
import Workflow
import WorkflowTesting
@testable import Stages
import ShapeModel

/// The context the DeepSSM stage tests run in: `WorkflowTesting`'s real
/// scratch context, its memo slots in a cache at `memoDirectory` (tests that
/// change more than `epochs` use separate memo directories).
typealias DeepSSMTestContext = ScratchStageContext

extension ScratchStageContext {
    convenience init(root: URL, inputs: [String: URL], memoDirectory: URL) throws {
        try self.init(root: root, cache: memoDirectory, stage: "deepssm", kind: "deepssm-test",
                      inputs: inputs, threads: 1)
    }

    /// Throw `CancellationError` once this many batches have been reported.
    var killAfterProgressCalls: Int? {
        get { cancelAfterProgressCalls }
        set { cancelAfterProgressCalls = newValue }
    }
}

/// Writes a tiny loaders artifact in the format of `deepssm-loaders`: each
/// image is K slabs along x, slab k holding the value of target k plus noise,
/// so the scores are learnable from the images.
struct LoadersFixture {
    var shape = (nz: 60, ny: 60, nx: 60)
    var numModes = 2
    var trainCount = 4
    var valCount = 2
    var testCount = 2
    /// K written into normalization.json (to provoke a mismatch).
    var normalizationModes: Int?
    /// Sample of the training split whose first voxel is NaN.
    var nanTrainSample: Int?
    var scoreMean: [Double]?
    var scoreStd: [Double]?

    func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var random = SplitMix(seed: 3)
        for (split, count) in [("train", trainCount), ("val", valCount), ("test", testCount)] {
            let ids = (0..<count).map { "\(split)_\($0)" }
            let geometry = SampleStack.Geometry(dims: [shape.nx, shape.ny, shape.nz], spacing: [1, 1, 1],
                                                origin: [0, 0, 0])
            let writer = try SampleStackWriter(creating: directory.appendingPathComponent("\(split).h5"),
                                               ids: ids, geometry: geometry)
            try writer.addArray("images", type: .float32, sampleShape: [shape.nz, shape.ny, shape.nx])
            try writer.addArray("targets", type: .float32, sampleShape: [numModes])
            for i in 0..<count {
                let targets = (0..<numModes).map { _ in Float(random.unit() * 2 - 1) }
                var image = [Float](repeating: 0, count: shape.nz * shape.ny * shape.nx)
                for v in image.indices {
                    let slab = min((v % shape.nx) * numModes / shape.nx, numModes - 1)
                    image[v] = targets[slab] + Float(random.unit() - 0.5) * 0.2
                }
                if split == "train", i == nanTrainSample { image[0] = .nan }
                try writer.put("images", sample: i, image)
                try writer.put("targets", sample: i, targets)
            }
            try writer.finish()
        }
        let k = normalizationModes ?? numModes
        try LoaderNormalization(intensityMean: 0, intensityStd: 1,
                                scoreMean: scoreMean ?? Array(repeating: 0, count: k),
                                scoreStd: scoreStd ?? Array(repeating: 1, count: k), downFactor: 0.75,
                                batchSize: 2, dims: [shape.nx, shape.ny, shape.nz], spacing: [1, 1, 1],
                                origin: [0, 0, 0], trainCount: trainCount, valCount: valCount,
                                testCount: testCount)
            .write(to: directory.appendingPathComponent("normalization.json"))
    }
}

/// SplitMix64: a fixed sequence for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

func temporaryTestDirectory(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `network` as a trained model directory of `deepssm-train` at `model`:
/// `best_model.h5` and `final_model.h5` (labelled with `epoch`) and the
/// loaders' normalisation it was trained with.
func writeModelDirectory(_ network: DeepSSMNetwork, epoch: Int, loaders: URL, to model: URL) throws {
    try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
    for name in ["best", "final"] {
        try NetworkCheckpoint(network: network, attributes: ["epoch": .int(Int64(epoch))])
            .write(to: model.appendingPathComponent("\(name)_model.h5"))
    }
    try FileManager.default.copyItem(at: LoaderArtifact(loaders).normalizationURL,
                                     to: LoaderArtifact.normalizationURL(in: model))
}

/// The scratch setting of the `deepssm-train` tests: a directory with a
/// loaders artefact (`LoadersFixture`, edited by the test) and, when asked,
/// `tinyPCAModel` as `pca.h5`; contexts over them; the CPU parameters.
struct TrainingFixture {
    let root: URL
    let loaders: URL
    let pca: URL

    init(_ name: String, writePCA: Bool = true, edit: (inout LoadersFixture) -> Void = { _ in }) throws {
        root = try temporaryTestDirectory(name)
        loaders = root.appendingPathComponent("loaders")
        pca = root.appendingPathComponent("pca.h5")
        var fixture = LoadersFixture()
        edit(&fixture)
        try fixture.write(to: loaders)
        if writePCA { try tinyPCAModel.write(to: pca) }
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    /// A context over the loaders (another loaders artefact when given) and,
    /// with `pca`, the PCA model; memo slots in `root/memo`.
    func context(memo: String = "memo", pca: Bool = true, loaders: URL? = nil) throws -> DeepSSMTestContext {
        var inputs = ["loaders": loaders ?? self.loaders]
        if pca { inputs["pca"] = self.pca }
        return try DeepSSMTestContext(root: root, inputs: inputs, memoDirectory: root.appendingPathComponent(memo))
    }

    /// Batch 2, learning rate 1e-3, one CPU thread, then `edit`.
    static func params(_ edit: (inout DeepSSMTrain.Params) -> Void = { _ in }) -> DeepSSMTrain.Params {
        var p = DeepSSMTrain.Params()
        p.batch_size = 2
        p.learning_rate = 1e-3
        p.device = "cpu"
        p.threads = 1
        edit(&p)
        return p
    }
}

/// Three particles, two of three modes kept; the modes are orthonormal.
let tinyPCAModel: PCAModel = {
    let s = 1 / 2.0.squareRoot()
    var modes = [Double](repeating: 0, count: 9 * 3)
    modes[0 * 3 + 0] = s; modes[4 * 3 + 0] = s        // mode 0: x of particle 0, y of particle 1
    modes[2 * 3 + 1] = s; modes[8 * 3 + 1] = -s       // mode 1: z of particle 0, −z of particle 2
    modes[6 * 3 + 2] = 1                              // mode 2: x of particle 2
    return PCAModel(mean: [1, 2, 3, 4, 5, 6, 7, 8, 9], eigenvalues: [9, 4, 1], modes: modes,
                    scores: [[0, 0], [1, 1], [-1, -1]], numModes: 2)
}()
