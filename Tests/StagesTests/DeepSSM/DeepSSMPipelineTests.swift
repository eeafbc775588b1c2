import Foundation
import GeometryKit
import HDF5Kit
import Workflow
import XCTest
@testable import Stages
@testable import ShapeModel

/// deepssm-loaders → deepssm-train → deepssm-predict on real artifacts at the
/// network's smallest size: 80³ images, downsampled × 0.75 to 60³.
final class DeepSSMPipelineTests: XCTestCase {
    private var root: URL!
    private let grid = SampleStack.Geometry(dims: [80, 80, 80], spacing: [1, 1, 1], origin: [0, 0, 0])
    private let testIDs = ["n01_R", "n02_R"]

    override func setUpWithError() throws { root = try temporaryTestDirectory("deepssm-pipeline-tests") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    /// Two slabs along x whose intensities are the two PCA scores.
    private func image(scores: [Double], seed: UInt64) -> [Float] {
        var random = SplitMix(seed: seed)
        return (0..<(80 * 80 * 80)).map { v in
            Float(scores[(v % 80) < 40 ? 0 : 1]) + Float(random.unit() - 0.5)
        }
    }

    private func scores(_ i: Int) -> [Double] { [cos(Double(i)) * 3, sin(Double(i) * 1.7) * 2] }

    private func writeInputs() throws -> (pool: URL, test: URL, pca: URL) {
        let pool = root.appendingPathComponent("pool"), test = root.appendingPathComponent("test")
        for dir in [pool, test] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        let ids = (1...6).map { String(format: "Generated_sample_%04d", $0) }
        let writer = try SampleStackWriter(creating: pool.appendingPathComponent("originals.h5"), ids: ids, geometry: grid)
        try writer.addArray("images", type: .float32, sampleShape: grid.imageShape)
        try writer.addArray("scores", type: .float64, sampleShape: [2])
        for i in ids.indices {
            try writer.put("images", sample: i, image(scores: scores(i), seed: UInt64(i)))
            try writer.put("scores", sample: i, scores(i))
        }
        try writer.finish()
        let index: [String: Any] = ["files": ["originals.h5"], "count": 6, "num_modes": 2, "num_particles": 3,
                                    "dims": grid.dims, "spacing": grid.spacing, "origin": grid.origin]
        try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys])
            .write(to: pool.appendingPathComponent("index.json"))

        // PCA: mean + two unit modes (particle 0 along x, particle 1 along y) + one unused.
        let mean: [Double] = [0, 0, 0, 10, 0, 0, 0, 10, 0]
        var modes = [Double](repeating: 0, count: 27)
        modes[0 * 3 + 0] = 1
        modes[4 * 3 + 1] = 1
        modes[8 * 3 + 2] = 1
        let pca = root.appendingPathComponent("pca.h5")
        try PCAModel(mean: mean, eigenvalues: [9, 4, 1], modes: modes, scores: (0..<3).map { scores($0) }, numModes: 2)
            .write(to: pca)

        let grid3 = CohortGrid(dims: SIMD3(80, 80, 80), spacing: SIMD3(1, 1, 1), origin: SIMD3(0, 0, 0))
        try JSONEncoder().encode(Cohort.Metadata(ids: testIDs, grid: grid3, numParticles: 3, source: "test",
                                                 intensityRange: [-4, 4]))
            .write(to: test.appendingPathComponent("cohort.json"))
        let subjects = try SampleStackWriter(creating: test.appendingPathComponent("subjects.h5"), ids: testIDs,
                                             geometry: grid)
        try subjects.addArray("images", type: .float32, sampleShape: grid.imageShape)
        try subjects.addArray("particles_world", type: .float64, sampleShape: [3, 3])
        try subjects.addArray("particles_local", type: .float64, sampleShape: [3, 3])
        for i in testIDs.indices {
            let truth = scores(10 + i)
            let world = ParticleSet(flattened: [truth[0], 0, 0, 10, truth[1], 0, 0, 10, 0])
            try subjects.put("images", sample: i, image(scores: truth, seed: UInt64(100 + i)))
            try subjects.put("particles_world", sample: i, world.flattened)
            try subjects.put("particles_local", sample: i,
                             world.points.flatMap { [$0.x + 40, $0.y + 40, $0.z + 40] })
        }
        try subjects.finish()
        return (pool, test, pca)
    }

    func test_loadersTrainPredict_endToEnd_predictsEveryTestSubjectInBothFrames() async throws {
        let inputs = try writeInputs()
        let memo = root.appendingPathComponent("memo")

        let loadersContext = try DeepSSMTestContext(root: root, inputs: ["pool": inputs.pool, "test": inputs.test,
                                                                         "pca": inputs.pca], memoDirectory: memo)
        var loaderParams = DeepSSMLoaders.Params()
        loaderParams.batch_size = 2
        try await DeepSSMLoaders().run(loaderParams, context: loadersContext)
        let loaders = loadersContext.outputURL("loaders")

        let trainContext = try DeepSSMTestContext(root: root, inputs: ["loaders": loaders], memoDirectory: memo)
        var trainParams = DeepSSMTrain.Params()
        trainParams.epochs = 2
        trainParams.batch_size = 2
        trainParams.learning_rate = 1e-3
        trainParams.device = "cpu"
        try await DeepSSMTrain().run(trainParams, context: trainContext)

        let predictContext = try DeepSSMTestContext(
            root: root, inputs: ["model": trainContext.outputURL("model"), "loaders": loaders, "pca": inputs.pca,
                                 "test": inputs.test],
            memoDirectory: memo)
        try await DeepSSMPredict().run(.cpu, context: predictContext)

        let output = predictContext.outputURL("predictions")
        let stack = try SampleStack(contentsOf: output.appendingPathComponent("predictions.h5"))
        XCTAssertEqual(stack.ids, testIDs)
        for (i, id) in testIDs.enumerated() {
            let world = try stack.sample("particles_world", i, as: Double.self)
            let local = try stack.sample("particles_local", i, as: Double.self)
            XCTAssertTrue(world.allSatisfy(\.isFinite))
            // The test frames are a pure shift by 40 mm: local = world + 40.
            for (l, w) in zip(local, world) { XCTAssertEqual(l, w + 40, accuracy: 1e-6) }
            // Only modes 0 and 1 move particles: the third particle stays at the mean.
            XCTAssertEqual(Array(world[6..<9]), [0, 10, 0])
            XCTAssertNoThrow(try ParticleSet.read(from: output.appendingPathComponent("world/predicted_\(id).particles")))
        }
        XCTAssertNotNil(predictContext.metrics["test_rel_error"], "the loaders know the test truth through the PCA model")
        XCTAssertNotNil(predictContext.metrics["test_particle_rmse_world_mm"])
    }
}
