import XCTest
import GeometryKit
import HDF5Kit
@testable import Stages
@testable import ShapeModel
@testable import Workflow

final class AugmentTests: XCTestCase {
    private let small = "num_samples: 10, shard_size: 4, num_dim: 3, plots: false"

    func test_augment_writesPoolPCAAndTotalData() async throws {
        let harness = try AugmentHarness()
        let (record, outputs) = try await harness.run(small)
        XCTAssertTrue(record.succeeded, "\(record.stages.map { $0.error ?? "" })")
        let pool = try TrainingPool(directory: XCTUnwrap(outputs["pool"]))
        XCTAssertEqual(pool.count, 16)
        XCTAssertEqual(pool.numModes, 3)
        XCTAssertEqual(try pool.id(0), "s00_L")
        XCTAssertEqual(try pool.id(6), "Generated_sample_0001")
        XCTAssertEqual(try pool.id(15), "Generated_sample_0010")
        XCTAssertEqual(try pool.image(7).dims, TinyCohortStage.grid.dims)

        let model = try PCAModel(contentsOf: XCTUnwrap(outputs["pca"]))
        XCTAssertEqual(model.numModes, 3)
        XCTAssertEqual(model.scores.count, 6)
        // A generated sample's world particles are p(z) of its stored scores.
        let z = try pool.scores(9)
        let expected = model.reconstruct(scores: z).points, stored = try pool.worldParticles(9).points
        for (p, q) in zip(expected, stored) { XCTAssertLessThan(((p - q) * (p - q)).sum(), 1e-20) }
        // The originals' stored scores are the model's.
        XCTAssertEqual(try pool.scores(2), model.scores[2])

        let table = try String(contentsOf: XCTUnwrap(outputs["total_data"]), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(table.count, 16)
        XCTAssertTrue(table[0].hasPrefix("Original-Images/s00_L.nrrd,Original-Particles/s00_L_local.particles,"), String(table[0]))
        XCTAssertTrue(table[6].hasPrefix("Generated-Images/Generated_sample_0001.nrrd,Generated-Particles/Generated_sample_0001.particles,"))
        XCTAssertEqual(table[6].split(separator: ",").count, 2 + 3)
        XCTAssertTrue(FileManager.default.fileExists(atPath: try XCTUnwrap(outputs["plots"]).appendingPathComponent("scores.csv").path))
    }

    func test_generatedImage_showsTheBaseAnatomyAtTheGeneratedShape() async throws {
        let harness = try AugmentHarness()
        let (_, outputs) = try await harness.run(small)
        let pool = try TrainingPool(directory: XCTUnwrap(outputs["pool"]))
        let shard = try SampleStack(contentsOf: XCTUnwrap(outputs["pool"]).appendingPathComponent("shard-00000.h5"))
        /// Centroid of the bright (bone) voxels, mm.
        func foreground(_ image: ImageVolume) -> SIMD3<Double> {
            var sum = SIMD3<Double>.zero, count = 0.0
            for z in 0..<image.dims.z { for y in 0..<image.dims.y { for x in 0..<image.dims.x where image[x, y, z] > 450 {
                sum += image.point(SIMD3(Double(x), Double(y), Double(z))); count += 1
            } } }
            return sum / count
        }
        func centroid(_ p: ParticleSet) -> SIMD3<Double> { p.points.reduce(.zero, +) / Double(p.count) }
        var moved = 0.0
        for j in 0..<4 {
            let base: [Int64] = try shard.sample("base", j)
            let generated = try pool.localParticles(6 + j), baseShape = try pool.localParticles(Int(base[0]))
            let shift = centroid(generated) - centroid(baseShape)
            moved = max(moved, (shift * shift).sum().squareRoot())
            // The bone sits where the generated particles are, not where the base's were.
            let d = foreground(try pool.image(6 + j)) - centroid(generated)
            XCTAssertLessThan((d * d).sum().squareRoot(), 0.6, "sample \(j + 1), base \(base[0]), shift \(shift)")
        }
        XCTAssertGreaterThan(moved, 1.5, "no sample moved its base shape far enough to tell the warp's direction")
    }

    func test_numSamples_raised_computesOnlyNewShards_andKeepsEarlierSampleBytes() async throws {
        let harness = try AugmentHarness()
        let (_, first) = try await harness.run(small)
        let (second, again) = try await harness.run(small.replacingOccurrences(of: "num_samples: 10", with: "num_samples: 20"))
        // Shards 1–4 and 5–8 are reused; 9–10 was a partial shard with its own key.
        XCTAssertEqual(second["augment"]?.metrics["samples_reused"], 8)
        let a = try TrainingPool(directory: XCTUnwrap(first["pool"])), b = try TrainingPool(directory: XCTUnwrap(again["pool"]))
        XCTAssertEqual(b.count, 26)
        for i in 6..<16 {
            XCTAssertEqual(try a.image(i).voxels, try b.image(i).voxels, "sample \(i)")
            XCTAssertEqual(try a.scores(i), try b.scores(i))
        }
        // Lowering reuses everything that exists.
        let (third, _) = try await harness.run(small.replacingOccurrences(of: "num_samples: 10", with: "num_samples: 12"))
        XCTAssertEqual(third["augment"]?.metrics["samples_reused"], 12)
    }

    func test_sameInputsAndSeed_giveIdenticalBytes_otherSeedDiffers() async throws {
        let harnesses = try (0..<3).map { _ in try AugmentHarness() }
        let (_, one) = try await harnesses[0].run(small)
        let (_, two) = try await harnesses[1].run(small)
        let (_, other) = try await harnesses[2].run(small + ", seed: 2")
        let shard = { (o: [String: URL]) in try Data(contentsOf: XCTUnwrap(o["pool"]).appendingPathComponent("shard-00001.h5")) }
        XCTAssertEqual(try shard(one), try shard(two))
        XCTAssertNotEqual(try shard(one), try shard(other))
        let pca = { (o: [String: URL]) in try Data(contentsOf: XCTUnwrap(o["pca"]).appendingPathComponent("pca.h5")) }
        XCTAssertEqual(try pca(one), try pca(two))
    }

    func test_plots_drawScatterMatrixAndHistogramsOfBothGroups() async throws {
        let harness = try AugmentHarness()
        let (_, outputs) = try await harness.run("num_samples: 8, shard_size: 8, num_dim: 3")
        let plots = try XCTUnwrap(outputs["plots"])
        if let keep = ProcessInfo.processInfo.environment["SSMFLOW_KEEP_TEST_OUTPUT"] {
            // For a person to look at, as the geometry tests do.
            let target = URL(fileURLWithPath: keep).appendingPathComponent("augment-plots")
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: plots, to: target)
        }
        for name in ["scores_scatter_matrix.png", "scores_histograms.png"] {
            let image = try RasterImage.readPNG(from: plots.appendingPathComponent(name))
            XCTAssertGreaterThan(image.width, 500, name)
            XCTAssertGreaterThan(image.colouredFraction(), 0.001, "\(name) has no coloured marks")
        }
        let csv = try String(contentsOf: plots.appendingPathComponent("scores.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "group,id,z1,z2,z3")
        XCTAssertEqual(csv.filter { $0.hasPrefix("original,") }.count, 6)
        XCTAssertEqual(csv.filter { $0.hasPrefix("generated,") }.count, 8)
    }

    func test_numDimAboveWhatTheCohortSpans_isClampedToNMinusOne() async throws {
        let harness = try AugmentHarness()
        let (record, outputs) = try await harness.run("num_samples: 2, shard_size: 2, num_dim: 6, plots: false, sampler: gaussian")
        XCTAssertEqual(record["augment"]?.metrics["pca_num_modes"], 5)
        XCTAssertEqual(try PCAModel(contentsOf: XCTUnwrap(outputs["pca"])).numModes, 5)
    }

    func test_params_withUnknownSamplerAndBadRanges_reportEveryIssue() {
        var params = Augment.Params()
        params.sampler = "kdee"
        params.shard_size = 0
        params.percent_variability = 1.5
        let issues = params.validate()
        XCTAssertEqual(Set(issues.map(\.parameter)), ["sampler", "shard_size", "percent_variability"])
        XCTAssertEqual(issues.first { $0.parameter == "sampler" }?.message, "unknown sampler 'kdee'; use one of kde, gaussian, mixture")
    }

    func test_params_imageBase_isOptionalAndRefusesAnUnknownValue() {
        var params = Augment.Params()
        XCTAssertEqual(Augment.Params.optionalParameters, ["image_base", "residual", "pose_jitter", "pose_shift", "pose_scale"])
        XCTAssertFalse(params.randomBase)
        params.image_base = "nearest"
        XCTAssertEqual(params.validate().map(\.parameter), ["image_base"])
        XCTAssertEqual(params.validate().first?.message, "'nearest' is not an image base; use sampler or random")
        params.image_base = "random"
        XCTAssertTrue(params.validate().isEmpty)
        XCTAssertTrue(params.randomBase)
    }

    func test_params_residual_isOptionalAndRefusesAnUnknownValue() {
        var params = Augment.Params()
        XCTAssertFalse(params.keepResidual)
        params.residual = "nearest"
        XCTAssertEqual(params.validate().map(\.parameter), ["residual"])
        XCTAssertEqual(params.validate().first?.message, "'nearest' is not a residual; use none or base")
        params.residual = "none"
        XCTAssertTrue(params.validate().isEmpty)
        XCTAssertFalse(params.keepResidual)
        params.residual = "base"
        XCTAssertTrue(params.validate().isEmpty)
        XCTAssertTrue(params.keepResidual)
    }

    func test_params_poseJitter_refusesNegativeOrHugeValues() {
        var params = Augment.Params()
        params.pose_jitter = -1
        params.pose_shift = 25
        params.pose_scale = 0.8
        XCTAssertEqual(params.validate().map(\.parameter), ["pose_jitter", "pose_shift", "pose_scale"])
        XCTAssertEqual(params.validate().first?.message, "must be between 0 and 20 degrees, got -1.0")
        params.pose_jitter = 3
        params.pose_shift = 2
        params.pose_scale = 0.05
        XCTAssertTrue(params.validate().isEmpty)
    }

    func test_export_writesTheReferenceLayout() async throws {
        let harness = try AugmentHarness()
        let (_, outputs) = try await harness.run("num_samples: 3, shard_size: 2, num_dim: 3, plots: false")
        let out = harness.directory.appendingPathComponent("export")
        try ReferenceAugmentationLayout.writeReferenceLayout(pool: XCTUnwrap(outputs["pool"]), pca: XCTUnwrap(outputs["pca"]), to: out)
        let image = try NRRD.read(out.appendingPathComponent("Generated-Images/Generated_sample_0002.nrrd"))
        let pool = try TrainingPool(directory: XCTUnwrap(outputs["pool"]))
        XCTAssertEqual(image.voxels, try pool.image(7).voxels)
        XCTAssertEqual(try ParticleSet.read(from: out.appendingPathComponent("Generated-Particles/Generated_sample_0003.particles")),
                       try pool.localParticles(8))
        XCTAssertEqual(try ParticleSet.read(from: out.appendingPathComponent("PCA_Particle_Info/mean.particles")).count, 48)
        for k in 0..<3 { XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("PCA_Particle_Info/pcamode\(k).particles").path)) }
        let table = try String(contentsOf: out.appendingPathComponent("TotalData.csv"), encoding: .utf8)
        XCTAssertEqual(table, try String(contentsOf: XCTUnwrap(outputs["total_data"]), encoding: .utf8))
        // Every path in the table exists in the export.
        for line in table.split(separator: "\n") {
            for path in line.split(separator: ",").prefix(2) {
                XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(String(path)).path), String(path))
            }
        }
    }
}
