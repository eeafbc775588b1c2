import Foundation
import XCTest
import GeometryKit
import HDF5Kit
import Workflow
@testable import Stages

/// The stage on its artifacts: a test cohort of spheres and the predictions
/// artifact as `deepssm-predict` writes it.
final class DeepSSMAnalyzeTests: XCTestCase {
    private let ids = ["m03_L", "n12_R"]
    private let radii = [11.0, 12.0]
    /// Each subject's local frame is its world frame shifted by this much.
    private let shift: SIMD3<Double> = [0.5, -0.25, 0]

    private func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ssmflow-analyze-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Spheres of 11 and 12 mm; the mean shape is a sphere of 10 (world frame).
    private func cohort(in dir: URL, name: String = "test") throws -> URL {
        let url = dir.appendingPathComponent(name)
        let field = AnalysisFixtures.distanceField(radius: 10)
        let grid = CohortGrid(dims: field.dims, spacing: field.spacing, origin: field.origin)
        let writer = try CohortWriter(directory: url, ids: ids, grid: grid, numParticles: 128, source: "spheres")
        for (i, r) in radii.enumerated() {
            let dt = AnalysisFixtures.distanceField(radius: r, centre: AnalysisFixtures.centre + shift)
            let world = AnalysisFixtures.particles(radius: r)
            let local = ParticleSet(points: world.points.map { $0 + shift })
            try writer.add(i, image: dt, segmentation: dt.voxels.map { $0 < 0 ? 1 : 0 }, distance: dt,
                           local: local, world: world, mesh: try Mesh.contour(dt, isovalue: 0))
        }
        try writer.finish(meanMesh: try AnalysisFixtures.sphere(radius: 10), meanParticles: AnalysisFixtures.particles(radius: 10))
        return url
    }

    /// Predicted radii 10.5 and 12.5 (world), in the local frame when `withLocal`.
    /// With `oracle`: the oracle is the true sphere (radius 11, 12) and `accuracy.json` is written.
    private func predictions(in dir: URL, ids: [String]? = nil, withLocal: Bool = true,
                             oracle: Bool = false, validation: Bool = false) throws -> URL {
        let url = dir.appendingPathComponent("predictions")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let subjects = ids ?? self.ids
        let writer = try SampleStackWriter(creating: url.appendingPathComponent("predictions.h5"), ids: subjects)
        if validation { try writer.setAttribute("subjects", .string("validation")) }
        try writer.addArray("particles_world", type: .float64, sampleShape: [128, 3])
        if withLocal { try writer.addArray("particles_local", type: .float64, sampleShape: [128, 3]) }
        if oracle { try writer.addArray("oracle_local", type: .float64, sampleShape: [128, 3]) }
        for (i, r) in [10.5, 12.5].prefix(subjects.count).enumerated() {
            let world = AnalysisFixtures.particles(radius: r)
            try writer.put("particles_world", sample: i, world.flattened)
            if withLocal { try writer.put("particles_local", sample: i, world.points.map { $0 + shift }.flatMap { [$0.x, $0.y, $0.z] }) }
            if oracle {
                let truth = AnalysisFixtures.particles(radius: radii[i])
                try writer.put("oracle_local", sample: i, truth.points.map { $0 + shift }.flatMap { [$0.x, $0.y, $0.z] })
            }
        }
        try writer.finish()
        if oracle {
            try ParticleAccuracy(numModes: 3, subjects: [
                .init(id: subjects[0], prediction: 0.5, meanShape: 1, oracle: 0.1),
                .init(id: subjects[1], prediction: 0.5, meanShape: 2, oracle: 0.1),
            ]).encoded().write(to: url.appendingPathComponent(ParticleAccuracy.fileName))
        }
        return url
    }

    private func run(_ params: DeepSSMAnalyze.Params = .init(), withLocal: Bool = true,
                     oracle: Bool = false) async throws -> LoaderTestContext {
        let dir = try scratch()
        let context = try LoaderTestContext(root: dir, inputs: ["test": try cohort(in: dir),
                                                            "predictions": try predictions(in: dir, withLocal: withLocal,
                                                                                           oracle: oracle)])
        try await DeepSSMAnalyze().run(params, context: context)
        return context
    }

    func test_run_measuresPredictionAndBaselineInTheLocalFrame() async throws {
        var params = DeepSSMAnalyze.Params()
        params.image_width = 400
        params.image_height = 300
        let context = try await run(params)
        let (table, sentence) = try DistanceTable.read(summary: context.outputURL("summary"))
        XCTAssertEqual(table.rows.map(\.id), ids)
        // Both predictions are 0.5 mm off; the mean shape (10 mm) is 1 and 2 mm off.
        for row in table.rows { XCTAssertEqual(row.predicted.meanSymmetric, 0.5, accuracy: 0.05, row.id) }
        XCTAssertEqual(table.rows[0].baseline.meanSymmetric, 1, accuracy: 0.05)
        XCTAssertEqual(table.rows[1].baseline.meanSymmetric, 2, accuracy: 0.05)
        XCTAssertTrue(sentence.hasPrefix("mean surface distance 0.50 mm (baseline 1.50 mm) over 2 test femurs"), sentence)
        XCTAssertEqual(context.metrics["mean_surface_distance_mm"] ?? 0, 0.5, accuracy: 0.05)
        XCTAssertEqual(context.metrics["baseline_mean_surface_distance_mm"] ?? 0, 1.5, accuracy: 0.05)
        let csv = try String(contentsOf: context.outputURL("table"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 3)
        let maps = try FileManager.default.contentsOfDirectory(atPath: context.outputURL("heatmaps").path).sorted()
        XCTAssertEqual(maps, ["m03_L_original.png", "m03_L_predicted.png", "n12_R_original.png", "n12_R_predicted.png"])
        let meshes = try FileManager.default.contentsOfDirectory(atPath: context.outputURL("meshes").path)
        XCTAssertEqual(meshes.count, 6)
    }

    func test_run_withOracle_measuresItsSurfaceAndReportsTheShare() async throws {
        var params = DeepSSMAnalyze.Params()
        params.render = false
        let context = try await run(params, oracle: true)
        let (table, sentence) = try DistanceTable.read(summary: context.outputURL("summary"))
        // The oracle here is the true sphere: its surface lies on the original up to the
        // discretisation of the contour and the 128-particle warp (~0.3 mm), well below
        // the prediction's 0.5 mm.
        for row in table.rows {
            let oracle = try XCTUnwrap(row.oracle?.meanSymmetric, row.id)
            XCTAssertLessThan(oracle, 0.35, row.id)
            XCTAssertLessThan(oracle, row.predicted.meanSymmetric - 0.15, row.id)
        }
        XCTAssertEqual(table.numModes, 3)
        // Particle RMSEs: mean 1.5, prediction 0.5, oracle 0.1 → share 1 / 1.4.
        XCTAssertEqual(context.metrics["achievable_gain_share"] ?? 0, 1 / 1.4, accuracy: 1e-12)
        XCTAssertEqual(context.metrics["oracle_particle_rmse_mm"] ?? 0, 0.1, accuracy: 1e-12)
        XCTAssertNotNil(context.metrics["oracle_mean_surface_distance_mm"])
        XCTAssertTrue(sentence.contains("PCA-3 oracle"), sentence)
        XCTAssertTrue(sentence.contains("achievable gain share 0.71"), sentence)
        let meshes = try FileManager.default.contentsOfDirectory(atPath: context.outputURL("meshes").path)
        XCTAssertTrue(meshes.contains("m03_L_oracle.vtk"), "\(meshes)")
        let plot = try Data(contentsOf: context.outputURL("accuracy"))
        XCTAssertEqual(Array(plot.prefix(4)), [0x89, 0x50, 0x4E, 0x47], "the per-subject plot is a PNG")
    }

    func test_run_worldOnlyPredictions_arePlacedByTheSubjectsOwnFrame() async throws {
        var params = DeepSSMAnalyze.Params()
        params.render = false
        let withLocal = try DistanceTable.read(summary: try await run(params).outputURL("summary")).table
        let worldOnly = try DistanceTable.read(summary: try await run(params, withLocal: false).outputURL("summary")).table
        for (a, b) in zip(withLocal.rows, worldOnly.rows) {
            XCTAssertEqual(a.predicted.meanSymmetric, b.predicted.meanSymmetric, accuracy: 1e-6)
            XCTAssertEqual(a.baseline.meanSymmetric, b.baseline.meanSymmetric, accuracy: 1e-6)
        }
    }

    func test_run_subjectWithoutPrediction_failsNamingItAndTheFix() async throws {
        let dir = try scratch()
        let context = try LoaderTestContext(root: dir, inputs: ["test": try cohort(in: dir),
                                                            "predictions": try predictions(in: dir, ids: ["m03_L"])])
        var params = DeepSSMAnalyze.Params()
        params.render = false
        do {
            try await DeepSSMAnalyze().run(params, context: context)
            XCTFail("expected a failure")
        } catch {
            XCTAssertTrue("\(error)".contains("test subject 'n12_R'"), "\(error)")
            XCTAssertTrue("\(error)".contains("connect 'predictions' to the deepssm-predict stage"), "\(error)")
        }
    }

    func test_run_validationPredictions_analyseTheValidationCohortAndSayValidation() async throws {
        let dir = try scratch()
        // 'test' is not a cohort at all: reading it would fail the run.
        let notACohort = dir.appendingPathComponent("not-a-cohort")
        try FileManager.default.createDirectory(at: notACohort, withIntermediateDirectories: true)
        let context = try LoaderTestContext(root: dir, inputs: [
            "test": notACohort, "validation": try cohort(in: dir, name: "validation"),
            "predictions": try predictions(in: dir, oracle: true, validation: true)])
        var params = DeepSSMAnalyze.Params()
        params.render = false
        try await DeepSSMAnalyze().run(params, context: context)
        let summary = try DistanceTable.read(summary: context.outputURL("summary"))
        XCTAssertEqual(summary.table.rows.map(\.id), ids)
        XCTAssertTrue(summary.sentence.contains("over 2 validation femurs"), summary.sentence)
        XCTAssertTrue(context.logs.joined().contains("validation femurs"), context.logs.joined())
        XCTAssertNotNil(context.metrics["achievable_gain_share"])
    }

    func test_run_validationPredictionsWithoutTheValidationCohort_failsNamingTheConnection() async throws {
        let dir = try scratch()
        let context = try LoaderTestContext(root: dir, inputs: [
            "test": try cohort(in: dir), "predictions": try predictions(in: dir, validation: true)])
        do {
            try await DeepSSMAnalyze().run(.init(), context: context)
            XCTFail("expected a failure")
        } catch {
            XCTAssertTrue("\(error)".contains("the predictions are of the validation subjects"), "\(error)")
            XCTAssertTrue("\(error)".contains("connect 'validation: split.validation'"), "\(error)")
        }
    }

    func test_params_validate_reportsEveryProblem() {
        var params = DeepSSMAnalyze.Params()
        params.warp = "bspline"
        params.landmark_stride = 0
        params.color_max_mm = -1
        let issues = params.validate()
        XCTAssertEqual(issues.map(\.parameter), ["warp", "landmark_stride", "color_max_mm"])
        XCTAssertEqual(issues[0].message, "'bspline' is not a warp; use thin-plate or wendland")
        XCTAssertTrue(DeepSSMAnalyze.Params().validate().isEmpty)
    }
}
