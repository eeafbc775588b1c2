import Foundation
import GeometryKit
import HDF5Kit
import Workflow
import XCTest
@testable import Stages
@testable import ShapeModel

final class DeepSSMLoadersTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeLoaderTestFolder("loaders-tests")
        addTeardownBlock { [root] in try? FileManager.default.removeItem(at: root!) }
    }

    /// Runs the stage on a fresh fixture; returns the loaders directory.
    private func runStage(_ params: DeepSSMLoaders.Params = .init(), threads: Int = 1, pca: Bool = true,
                          folder: String = "run", heldSpacing: [Double]? = nil,
                          realValidation: Bool = false) throws -> (URL, LoaderFixture) {
        let base = root.appendingPathComponent(folder)
        let fixture = try LoaderFixture(root: base.appendingPathComponent("inputs"), heldSpacing: heldSpacing)
        var inputs = ["pool": fixture.pool, "test": fixture.test]
        if pca { inputs["pca"] = fixture.pca }
        // The held-out cohort doubles as real validation subjects.
        if realValidation { inputs["validation"] = fixture.test }
        let context = try LoaderTestContext(root: base, inputs: inputs, threads: threads)
        let done = expectation(description: "stage ran")
        nonisolated(unsafe) var failure: Error?
        Task {
            do { try await DeepSSMLoaders().run(params, context: context) } catch { failure = error }
            done.fulfill()
        }
        wait(for: [done], timeout: 60)
        if let failure { throw failure }
        return (context.outputURL("loaders"), fixture)
    }

    func test_run_splitsPoolSeededWithEverySampleInExactlyOneSplit() throws {
        let (loaders, fixture) = try runStage()
        let train = try SampleStack(contentsOf: loaders.appendingPathComponent("train.h5"))
        let val = try SampleStack(contentsOf: loaders.appendingPathComponent("val.h5"))
        XCTAssertEqual(train.count, 8)
        XCTAssertEqual(val.count, 2)
        XCTAssertEqual(Set(train.ids + val.ids), Set(fixture.poolIDs))
        XCTAssertTrue(Set(train.ids).isDisjoint(with: val.ids))

        let split = try DeepSSMLoaderBuilder().split(poolCount: 10)
        XCTAssertEqual(train.ids, split.train.map { fixture.poolIDs[$0] })
        var reseeded = DeepSSMLoaderBuilder()
        reseeded.seed = 7
        XCTAssertNotEqual(try reseeded.split(poolCount: 10).val, split.val)
    }

    func test_statistics_matchDirectComputationOverDownsampledPool() throws {
        let (loaders, _) = try runStage()
        let normalization = try LoaderNormalization(contentsOf: loaders.appendingPathComponent("normalization.json"))

        let voxels = (0..<10).flatMap { LoaderFixture.image($0).resampled(by: 0.75).voxels.map(Double.init) }
        let mean = voxels.reduce(0, +) / Double(voxels.count)
        let std = (voxels.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(voxels.count)).squareRoot()
        XCTAssertEqual(normalization.intensityMean, mean, accuracy: 1e-10 * abs(mean))
        XCTAssertEqual(normalization.intensityStd, std, accuracy: 1e-10 * std)

        for k in 0..<LoaderFixture.numModes {
            let values = (0..<10).map { LoaderFixture.scores($0)[k] }
            let m = values.reduce(0, +) / 10
            let s = (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 10).squareRoot()
            XCTAssertEqual(normalization.scoreMean[k], m, accuracy: 1e-12)
            XCTAssertEqual(normalization.scoreStd[k], s, accuracy: 1e-12)
        }
        XCTAssertEqual(normalization.dims, [6, 4, 3])
        XCTAssertEqual(normalization.spacing, [2, 2.25, 2 * 5 / 3.0])
        XCTAssertEqual(normalization.origin, LoaderFixture.grid.origin)
        XCTAssertEqual(normalization.batchSize, 8)
        XCTAssertEqual(normalization.testCount, 2)
    }

    func test_whitening_roundTripsToPoolScores() throws {
        let (loaders, fixture) = try runStage()
        let normalization = try LoaderNormalization(contentsOf: loaders.appendingPathComponent("normalization.json"))
        let train = try SampleStack(contentsOf: loaders.appendingPathComponent("train.h5"))
        for (slot, id) in train.ids.enumerated() {
            let pool = fixture.poolIDs.firstIndex(of: id)!
            let targets = try train.sample("targets", slot, as: Float.self)
            let scores = normalization.unwhiten(targets)
            for k in 0..<LoaderFixture.numModes {
                XCTAssertEqual(scores[k], LoaderFixture.scores(pool)[k], accuracy: 1e-5 * max(1, abs(scores[k])))
            }
        }
        let raw = [3.25, -1.5, 0.125]
        XCTAssertEqual(zip(normalization.unwhiten(normalization.whiten(raw)), raw).map { abs($0 - $1) }.max()!, 0,
                       accuracy: 1e-5)
    }

    func test_images_areDownsampledAndNormalisedWithPoolStatistics() throws {
        let (loaders, fixture) = try runStage()
        let normalization = try LoaderNormalization(contentsOf: loaders.appendingPathComponent("normalization.json"))
        let val = try SampleStack(contentsOf: loaders.appendingPathComponent("val.h5"))
        XCTAssertEqual(val.geometry?.dims, [6, 4, 3])
        let pool = fixture.poolIDs.firstIndex(of: val.ids[1])!
        let expected = LoaderFixture.image(pool).resampled(by: 0.75).voxels
            .map { Float((Double($0) - normalization.intensityMean) / normalization.intensityStd) }
        XCTAssertEqual(try val.sample("images", 1, as: Float.self), expected)
    }

    func test_dims_resampleToTheExactGridKeepingTheExtent() throws {
        var params = DeepSSMLoaders.Params()
        params.dims = [5, 5, 2]
        let (loaders, fixture) = try runStage(params)
        let val = try SampleStack(contentsOf: loaders.appendingPathComponent("val.h5"))
        XCTAssertEqual(val.geometry?.dims, [5, 5, 2])
        let pool = fixture.poolIDs.firstIndex(of: val.ids[1])!
        let source = LoaderFixture.image(pool)
        let expected = source.resampled(dims: SIMD3(5, 5, 2))
        XCTAssertEqual(expected.physicalExtent, source.physicalExtent)
        let normalization = try LoaderNormalization(contentsOf: loaders.appendingPathComponent("normalization.json"))
        XCTAssertEqual(try val.sample("images", 1, as: Float.self),
                       expected.voxels.map { Float((Double($0) - normalization.intensityMean) / normalization.intensityStd) })
    }

    /// `downsample: area` shrinks pool and test images with the box filter, with
    /// statistics over the area-downsampled pool, and says so in
    /// normalization.json; unset, the file has no `downsample` key (loaders
    /// written before the parameter read the same).
    func test_areaDownsampling_shrinksEveryImageWithTheBoxFilter_andIsRecorded() throws {
        var params = DeepSSMLoaders.Params()
        params.downsample = "area"
        let (loaders, fixture) = try runStage(params)
        let url = loaders.appendingPathComponent("normalization.json")
        let normalization = try LoaderNormalization(contentsOf: url)
        XCTAssertEqual(normalization.filter, .area)
        XCTAssertTrue(try String(contentsOf: url, encoding: .utf8).contains("\"downsample\" : \"area\""))
        let val = try SampleStack(contentsOf: loaders.appendingPathComponent("val.h5"))
        let pool = fixture.poolIDs.firstIndex(of: val.ids[1])!
        let area = LoaderFixture.image(pool).resampled(dims: SIMD3(6, 4, 3), filter: .area)
        XCTAssertNotEqual(area, LoaderFixture.image(pool).resampled(dims: SIMD3(6, 4, 3)))
        XCTAssertEqual(try val.sample("images", 1, as: Float.self),
                       area.voxels.map { Float((Double($0) - normalization.intensityMean) / normalization.intensityStd) })
        let test = try SampleStack(contentsOf: loaders.appendingPathComponent("test.h5"))
        let testArea = LoaderFixture.image(1000).resampled(dims: SIMD3(6, 4, 3), filter: .area)
        XCTAssertEqual(try test.sample("images", 0, as: Float.self),
                       testArea.voxels.map { Float((Double($0) - normalization.intensityMean) / normalization.intensityStd) })

        let (linear, _) = try runStage(folder: "linear")
        let plain = linear.appendingPathComponent("normalization.json")
        XCTAssertEqual(try LoaderNormalization(contentsOf: plain).filter, .linear)
        XCTAssertFalse(try String(contentsOf: plain, encoding: .utf8).contains("downsample"))
    }

    func test_testSplit_usesTrainingStatisticsAndProjectedTruth() throws {
        let (loaders, _) = try runStage()
        let normalization = try LoaderNormalization(contentsOf: loaders.appendingPathComponent("normalization.json"))
        let test = try SampleStack(contentsOf: loaders.appendingPathComponent("test.h5"))
        XCTAssertEqual(test.ids, ["n00_R", "n01_R"])
        let expected = LoaderFixture.image(1001).resampled(by: 0.75).voxels
            .map { Float((Double($0) - normalization.intensityMean) / normalization.intensityStd) }
        XCTAssertEqual(try test.sample("images", 1, as: Float.self), expected)
        let truth = normalization.unwhiten(try test.sample("targets", 1, as: Float.self))
        for k in 0..<LoaderFixture.numModes {
            XCTAssertEqual(truth[k], LoaderFixture.heldScores(1)[k], accuracy: 1e-5)
        }
    }

    func test_realValidationSubjects_validate_andTheWholePoolTrains() throws {
        let (loaders, fixture) = try runStage(realValidation: true)
        let train = try SampleStack(contentsOf: loaders.appendingPathComponent("train.h5"))
        let val = try SampleStack(contentsOf: loaders.appendingPathComponent("val.h5"))
        XCTAssertEqual(train.ids, fixture.poolIDs)
        XCTAssertEqual(val.ids, ["n00_R", "n01_R"])
        let normalization = try LoaderNormalization(contentsOf: loaders.appendingPathComponent("normalization.json"))
        XCTAssertEqual(normalization.trainCount, fixture.poolIDs.count)
        XCTAssertEqual(normalization.valCount, 2)
        let truth = normalization.unwhiten(try val.sample("targets", 1, as: Float.self))
        for k in 0..<LoaderFixture.numModes {
            XCTAssertEqual(truth[k], LoaderFixture.heldScores(1)[k], accuracy: 1e-5)
        }
        // The same statistics and images as the test split of the same subjects.
        let test = try SampleStack(contentsOf: loaders.appendingPathComponent("test.h5"))
        XCTAssertEqual(try val.sample("images", 0, as: Float.self), try test.sample("images", 0, as: Float.self))
    }

    func test_realValidationSubjects_withoutPCA_failNamingTheFix() {
        XCTAssertThrowsError(try runStage(pca: false, realValidation: true)) {
            XCTAssertEqual("\($0)", "the 2 validation subjects need their true PCA scores; connect 'pca: augment.pca' to deepssm-loaders")
        }
    }

    func test_withoutPCA_testSplitHasNoTargets() throws {
        let (loaders, _) = try runStage(pca: false)
        let reader = try BatchReader(url: loaders.appendingPathComponent("test.h5"), batchSize: 1, shuffle: false)
        XCTAssertEqual(reader.numModes, 0)
        XCTAssertEqual(reader.count, 2)
    }

    func test_sameInputs_giveIdenticalBytesWhateverTheThreadCount() throws {
        let (first, _) = try runStage(threads: 1, folder: "one")
        Thread.sleep(forTimeInterval: 1.1)
        let (second, _) = try runStage(threads: 3, folder: "two")
        for name in ["train.h5", "val.h5", "test.h5", "normalization.json"] {
            XCTAssertEqual(try Data(contentsOf: first.appendingPathComponent(name)),
                           try Data(contentsOf: second.appendingPathComponent(name)), name)
        }
    }

    func test_poolTooSmallToSplit_failsWithAdvice() {
        var params = DeepSSMLoaders.Params()
        params.train_fraction = 0.99
        XCTAssertThrowsError(try runStage(params)) { error in
            XCTAssertTrue("\(error)".contains("both need at least one"), "\(error)")
        }
    }

    func test_heldOutImagesOnAnotherGrid_failNamingTheSubject() {
        XCTAssertThrowsError(try runStage(heldSpacing: [1, 1, 1])) { error in
            XCTAssertTrue("\(error)".contains("test subject n00_R has grid"), "\(error)")
        }
    }

    func test_validate_reportsEveryBadParameter() {
        var params = DeepSSMLoaders.Params()
        params.down_factor = 1.5
        params.train_fraction = 1
        params.batch_size = 0
        params.seed = -1
        params.dims = [64, 64]
        params.downsample = "cubic"
        XCTAssertEqual(params.validate().map(\.parameter), ["down_factor", "dims", "train_fraction", "batch_size", "seed", "downsample"])
        XCTAssertEqual(DeepSSMLoaders.Params().validate(), [])
    }

    func test_runningStatistics_mergeEqualsDirect() {
        let values: [Float] = (0..<1000).map { Float(1e4 + sin(Double($0)) * 3) }
        var merged = RunningStatistics()
        for part in stride(from: 0, to: 1000, by: 137) {
            values[part..<min(part + 137, 1000)].withUnsafeBufferPointer { merged.merge(RunningStatistics($0)) }
        }
        let doubles = values.map(Double.init)
        let mean = doubles.reduce(0, +) / 1000
        let variance = doubles.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 1000
        XCTAssertEqual(merged.count, 1000)
        XCTAssertEqual(merged.mean, mean, accuracy: 1e-9)
        XCTAssertEqual(merged.populationVariance, variance, accuracy: 1e-9 * variance)
    }
}
