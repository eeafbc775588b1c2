import Foundation
import GeometryKit
import HDF5Kit
import TorchKit
import Workflow
import XCTest
@testable import Stages
@testable import ShapeModel

final class DeepSSMPredictTests: XCTestCase {
    private var root: URL!
    private var loaders: URL!
    private var model: URL!
    private var network: DeepSSMNetwork!
    // M = 3 particles, N = 3 stored modes, K = 2 used; unit columns of a 9 × 3 matrix.
    private let mean: [Double] = [0, 0, 0, 10, 0, 0, 0, 10, 0]
    private let scoreMean: [Double] = [1, -2]
    private let scoreStd: [Double] = [3, 0.5]
    // The test subjects' world → local frames: rotation about z by 90°, scale 2, shift.
    private let frame = SimilarityTransform(rotation: (SIMD3(0, -1, 0), SIMD3(1, 0, 0), SIMD3(0, 0, 1)),
                                            scale: 2, translation: SIMD3(5, 6, 7))

    private var modes: [Double] {
        var m = [Double](repeating: 0, count: 9 * 3)
        m[0 * 3 + 0] = 1            // mode 0 moves particle 0 along x
        m[4 * 3 + 1] = 1            // mode 1 moves particle 1 along y
        m[8 * 3 + 2] = 1            // mode 2 moves particle 2 along z
        return m
    }

    override func setUpWithError() throws {
        root = try temporaryTestDirectory("deepssm-predict-tests")
        loaders = root.appendingPathComponent("loaders")
        var fixture = LoadersFixture()
        fixture.scoreMean = scoreMean
        fixture.scoreStd = scoreStd
        try fixture.write(to: loaders)

        // An untrained network stands in for a trained one: prediction only maps its outputs.
        network = try DeepSSMNetwork(inputShape: InputShape(depth: 60, height: 60, width: 60), outputCount: 2, seed: 4)
        model = root.appendingPathComponent("model")
        try writeModelDirectory(network, epoch: 1, loaders: loaders, to: model)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    private func writePCA(numModes: Int) throws -> URL {
        let url = root.appendingPathComponent("pca-\(numModes).h5")
        let file = try HDF5File(creating: url)
        try file.write(mean, to: "mean")
        try file.write([9.0, 4, 1], to: "eigenvalues")
        try file.write(modes, to: "modes", shape: [9, 3])
        try file.write([Double](repeating: 0, count: 3 * numModes), to: "scores", shape: [3, numModes])
        try file.setAttribute("num_modes", .int(Int64(numModes)))
        file.close()
        return url
    }

    /// A test cohort (`cohort.json` and the particle arrays of `subjects.h5`):
    /// `test_1`, `test_0`, whose local particles are `frame` applied to their world ones.
    private func writeTestCohort(ids: [String] = ["test_1", "test_0"], name: String = "test-cohort") throws -> URL {
        let directory = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let grid = CohortGrid(dims: SIMD3(60, 60, 60), spacing: SIMD3(1, 1, 1), origin: SIMD3(0, 0, 0))
        let metadata = Cohort.Metadata(ids: ids, grid: grid, numParticles: 3, source: "test", intensityRange: [0, 1])
        try JSONEncoder().encode(metadata).write(to: directory.appendingPathComponent("cohort.json"))
        let writer = try SampleStackWriter(creating: directory.appendingPathComponent("subjects.h5"), ids: ids)
        try writer.addArray("particles_world", type: .float64, sampleShape: [3, 3])
        try writer.addArray("particles_local", type: .float64, sampleShape: [3, 3])
        for i in ids.indices {
            let world = ParticleSet(points: [SIMD3(Double(i), 0, 0), SIMD3(10, 1, 0), SIMD3(0, 10, 2)])
            try writer.put("particles_world", sample: i, world.flattened)
            try writer.put("particles_local", sample: i, frame.apply(world).flattened)
        }
        try writer.finish()
        return directory
    }

    private func run(_ params: DeepSSMPredict.Params = .cpu, pca: URL? = nil, test: URL? = nil,
                     validation: URL? = nil) async throws -> DeepSSMTestContext {
        var inputs = ["model": model!, "loaders": loaders!, "pca": try pca ?? writePCA(numModes: 2)]
        if let test { inputs["test"] = test }
        if let validation { inputs["validation"] = validation }
        let context = try DeepSSMTestContext(root: root, inputs: inputs, memoDirectory: root.appendingPathComponent("memo"))
        try await DeepSSMPredict().run(params, context: context)
        return context
    }

    func test_run_mapsUnwhitenedScoresThroughPCAToWorldAndLocalParticles() async throws {
        let context = try await run(test: try writeTestCohort())
        let output = context.outputURL("predictions")
        let stack = try SampleStack(contentsOf: output.appendingPathComponent("predictions.h5"))
        XCTAssertEqual(stack.ids, ["test_0", "test_1"])

        let test = try SampleStack(contentsOf: loaders.appendingPathComponent("test.h5"))
        for (i, id) in stack.ids.enumerated() {
            // Independently: network output → s = ŝ σ + μ → p = mean + U[:, :2] s.
            let image = try test.sample("images", i, as: Float.self)
            let whitened = try network.evaluateBatch(images: image, shape: InputShape(depth: 60, height: 60, width: 60))
            let s = (0..<2).map { Double(whitened[$0]) * scoreStd[$0] + scoreMean[$0] }
            var expected = mean
            expected[0] += s[0]
            expected[4] += s[1]
            let scores = try stack.sample("scores", i, as: Double.self)
            XCTAssertEqual(scores[0], s[0], accuracy: 1e-12)
            XCTAssertEqual(scores[1], s[1], accuracy: 1e-12)
            let world = try stack.sample("particles_world", i, as: Double.self)
            for (a, b) in zip(world, expected) { XCTAssertEqual(a, b, accuracy: 1e-9) }

            let local = try stack.sample("particles_local", i, as: Double.self)
            let expectedLocal = frame.apply(ParticleSet(flattened: expected)).flattened
            for (a, b) in zip(local, expectedLocal) { XCTAssertEqual(a, b, accuracy: 1e-6) }

            let file = try ParticleSet.read(from: output.appendingPathComponent("world/predicted_\(id).particles"))
            XCTAssertEqual(file.flattened, world)
            XCTAssertTrue(FileManager.default.fileExists(
                atPath: output.appendingPathComponent("local/predicted_\(id).particles").path))
        }
        XCTAssertNotNil(context.metrics["test_rel_error"])
        XCTAssertNotNil(context.metrics["test_particle_rmse_world_mm"])
    }

    func test_run_withTruth_writesTheOracleAndTheRMSEsOfPredictionMeanAndOracle() async throws {
        let context = try await run(test: try writeTestCohort())
        let output = context.outputURL("predictions")
        let stack = try SampleStack(contentsOf: output.appendingPathComponent("predictions.h5"))
        let accuracy = try XCTUnwrap(try ParticleAccuracy.read(predictions: output))
        XCTAssertEqual(accuracy.numModes, 2)
        XCTAssertEqual(accuracy.subjects.map(\.id), ["test_0", "test_1"])
        for (i, subject) in accuracy.subjects.enumerated() {
            // The cohort lists test_1 first, so test_i's p0.x (its cohort index) is x = 1 − i.
            let x = Double(1 - i)
            // Truth: p0 = (x, 0, 0), p1 = (10, 1, 0), p2 = (0, 10, 2); the two kept modes move
            // p0.x and p1.y, so the oracle misses only p2.z = 2; the mean misses x, 1 and 2.
            let oracle = try stack.sample("oracle_world", i, as: Double.self)
            XCTAssertEqual(oracle, [x, 0, 0, 10, 1, 0, 0, 10, 0])
            let oracleLocal = try stack.sample("oracle_local", i, as: Double.self)
            for (a, b) in zip(oracleLocal, frame.apply(ParticleSet(flattened: oracle)).flattened) {
                XCTAssertEqual(a, b, accuracy: 1e-6)
            }
            XCTAssertEqual(subject.oracle, (4.0 / 3).squareRoot(), accuracy: 1e-12)
            XCTAssertEqual(subject.meanShape, ((x * x + 5) / 3).squareRoot(), accuracy: 1e-12)
            let world = ParticleSet(flattened: try stack.sample("particles_world", i, as: Double.self))
            let truth = ParticleSet(points: [SIMD3(x, 0, 0), SIMD3(10, 1, 0), SIMD3(0, 10, 2)])
            XCTAssertEqual(subject.prediction, ParticleAccuracy.rmse(world, truth), accuracy: 1e-12)
        }
        XCTAssertEqual(context.metrics["oracle_particle_rmse_world_mm"] ?? 0, (4.0 / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(context.metrics["mean_shape_particle_rmse_world_mm"] ?? 0,
                       ((5.0 / 3).squareRoot() + 2.0.squareRoot()) / 2, accuracy: 1e-12)
        XCTAssertEqual(context.metrics["achievable_gain_share"], accuracy.achievableGainShare)

        // Per mode: a subject's squared error is its oracle's plus its score errors over M;
        // over subjects, the mean squared RMSE is the oracle's plus the modes' squares.
        let modes = try XCTUnwrap(accuracy.modes)
        XCTAssertEqual(modes.count, 2)
        let meanSquared = accuracy.subjects.map { $0.prediction * $0.prediction }.reduce(0, +) / 2
        let oracleSquared = accuracy.subjects.map { $0.oracle * $0.oracle }.reduce(0, +) / 2
        XCTAssertEqual(meanSquared, oracleSquared + modes.map { $0.prediction * $0.prediction }.reduce(0, +), accuracy: 1e-9)
        // Independently: the true scores are (x, 1) with x = 1, 0 (mean 0 at those coordinates).
        for (m, truth) in [[1.0, 0], [1.0, 1]].enumerated() {
            let predicted = try (0..<2).map { try stack.sample("scores", $0, as: Double.self)[m] }
            let expected = (zip(predicted, truth).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 6).squareRoot()
            XCTAssertEqual(modes[m].prediction, expected, accuracy: 1e-9, "mode \(m + 1)")
        }
        XCTAssertTrue(context.logs.contains { $0.hasPrefix("per mode, the share of the subjects' variance") }, "\(context.logs)")
    }

    func test_run_withoutTestCohort_writesWorldParticlesOnly() async throws {
        let context = try await run()
        let output = context.outputURL("predictions")
        let stack = try SampleStack(contentsOf: output.appendingPathComponent("predictions.h5"))
        XCTAssertEqual(try stack.arrayNames, ["particles_world", "scores"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.appendingPathComponent("local").path))
    }

    func test_run_pcaWithOtherK_failsNamingAllThree() async throws {
        do {
            _ = try await run(pca: try writePCA(numModes: 3))
            XCTFail("the stage did not fail")
        } catch let failure as StageFailure {
            XCTAssertTrue(failure.message.contains("K mismatch: the model predicts 2 scores, the loaders whiten 2 and the PCA model keeps 3 modes"),
                          failure.message)
        }
    }

    func test_run_validationSubjects_predictsTheLoadersValidationImagesAgainstTheValidationCohort() async throws {
        var params = DeepSSMPredict.Params.cpu
        params.subjects = "validation"
        // The test cohort is connected too and must not be the one used.
        let context = try await run(params, test: try writeTestCohort(),
                                    validation: try writeTestCohort(ids: ["val_1", "val_0"], name: "validation-cohort"))
        let output = context.outputURL("predictions")
        let stack = try SampleStack(contentsOf: output.appendingPathComponent("predictions.h5"))
        XCTAssertEqual(stack.ids, ["val_0", "val_1"])
        XCTAssertEqual(try stack.file.stringAttribute("subjects"), "validation")
        XCTAssertEqual(try PredictedParticles(directory: output).subjects, "validation")
        let val = try SampleStack(contentsOf: loaders.appendingPathComponent("val.h5"))
        for i in stack.ids.indices {
            let whitened = try network.evaluateBatch(images: try val.sample("images", i, as: Float.self),
                                                     shape: InputShape(depth: 60, height: 60, width: 60))
            let scores = try stack.sample("scores", i, as: Double.self)
            XCTAssertEqual(scores[0], Double(whitened[0]) * scoreStd[0] + scoreMean[0], accuracy: 1e-12)
        }
        let accuracy = try XCTUnwrap(try ParticleAccuracy.read(predictions: output))
        XCTAssertEqual(accuracy.subjects.map(\.id), ["val_0", "val_1"])
        XCTAssertNotNil(context.metrics["validation_particle_rmse_world_mm"])
        XCTAssertNotNil(context.metrics["validation_rel_error"])
        XCTAssertNil(context.metrics["test_particle_rmse_world_mm"])
        XCTAssertNotNil(context.metrics["achievable_gain_share"])

        // Test predictions carry no attribute, so their bytes are those of before.
        let testRun = try await run(test: try writeTestCohort(name: "test-cohort-2"))
        let testStack = try SampleStack(contentsOf: testRun.outputURL("predictions").appendingPathComponent("predictions.h5"))
        XCTAssertFalse(try testStack.file.attributeNames().contains("subjects"))
        XCTAssertEqual(try PredictedParticles(directory: testRun.outputURL("predictions")).subjects, "test")
    }

    func test_run_validationSubjectsWithoutRealValidationSubjects_failsSayingHowToHoldThemOut() async throws {
        var params = DeepSSMPredict.Params.cpu
        params.subjects = "validation"
        do {
            _ = try await run(params, validation: try writeTestCohort(ids: [], name: "empty-cohort"))
            XCTFail("the stage did not fail")
        } catch let failure as StageFailure {
            XCTAssertTrue(failure.message.contains("validation image 'val_0' has no subject in the validation cohort"), failure.message)
            XCTAssertTrue(failure.message.contains("--set split.validation=5"), failure.message)
        }
    }

    func test_params_subjects_refusesAnUnknownSet() {
        var params = DeepSSMPredict.Params.cpu
        params.subjects = "train"
        XCTAssertEqual(params.validate().map(\.parameter), ["subjects"])
        XCTAssertTrue(params.validate()[0].message.contains("use test or validation"))
        params.subjects = "validation"
        XCTAssertTrue(params.validate().isEmpty)
        XCTAssertEqual(DeepSSMPredict.Params.optionalParameters, ["precision", "subjects", "tta", "tta_rotation", "tta_shift"])
    }

    func test_params_tta_refusesOutOfRangeValues() {
        var params = DeepSSMPredict.Params.cpu
        params.tta = 0
        params.tta_rotation = -1
        params.tta_shift = 30
        XCTAssertEqual(params.validate().map(\.parameter), ["tta", "tta_rotation", "tta_shift"])
        XCTAssertEqual(params.validate()[0].message, "must be between 1 (off) and 64 predictions per image, got 0")
        params.tta = 8
        params.tta_rotation = 3
        params.tta_shift = 2
        XCTAssertTrue(params.validate().isEmpty)
    }

    func test_run_tta_averagesThePredictionsOfTheMovedCopies() async throws {
        let plain = try await run(test: try writeTestCohort())
        let a = try SampleStack(contentsOf: plain.outputURL("predictions").appendingPathComponent("predictions.h5"))
        let singles = try a.ids.indices.map { try a.sample("scores", $0, as: Double.self) }
        var params = DeepSSMPredict.Params.cpu
        params.tta = 3
        let averaged = try await run(params, test: try writeTestCohort())
        XCTAssertTrue(averaged.logs.contains { $0.contains("each image predicted 3 times") }, "\(averaged.logs)")
        let b = try SampleStack(contentsOf: averaged.outputURL("predictions").appendingPathComponent("predictions.h5"))
        let normalization = try LoaderArtifact(loaders).normalization()
        let tta = TestTimeAugmentation(copies: 3, rotationDegrees: 3, shift: 2, dims: SIMD3(60, 60, 60),
                                       spacing: SIMD3(normalization.spacing[0], normalization.spacing[1], normalization.spacing[2]))
        let test = try SampleStack(contentsOf: loaders.appendingPathComponent("test.h5"))
        let shape = InputShape(depth: 60, height: 60, width: 60)
        for (i, id) in b.ids.enumerated() {
            XCTAssertEqual(a.ids[i], id)
            // Independently: the network on the image and its two moved copies, outputs averaged.
            let image = try test.sample("images", test.ids.firstIndex(of: id)!, as: Float.self)
            var sum = try network.evaluateBatch(images: image, shape: shape).map(Double.init)
            for c in 1...2 {
                let out = try network.evaluateBatch(images: tta.moved(image, count: 1, copy: c), shape: shape)
                sum = zip(sum, out).map { $0 + Double($1) }
            }
            let expected = (0..<2).map { sum[$0] / 3 * scoreStd[$0] + scoreMean[$0] }
            let scores = try b.sample("scores", i, as: Double.self), single = singles[i]
            for m in 0..<2 { XCTAssertEqual(scores[m], expected[m], accuracy: 1e-4 * scoreStd[m]) }
            XCTAssertNotEqual(scores, single, "the moved copies change the prediction")
        }
    }

    func test_run_testSubjectMissingFromCohort_failsNamingIt() async throws {
        let cohort = try writeTestCohort(ids: ["m03_L"], name: "other-cohort")
        do {
            _ = try await run(test: cohort)
            XCTFail("the stage did not fail")
        } catch let failure as StageFailure {
            XCTAssertTrue(failure.message.contains("test image 'test_0' has no subject"), failure.message)
        }
    }
}

extension DeepSSMPredict.Params {
    static var cpu: Self {
        var p = Self()
        p.device = "cpu"
        p.threads = 1
        return p
    }
}
