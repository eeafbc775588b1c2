import Foundation
import GeometryKit
import Workflow
import XCTest
@testable import Stages

/// `ssmflow cache export` through the engine with the pipeline's exporters: an
/// augmentation pool in the reference's layout, a cohort in ShapeWorks' femur
/// layout, everything else copied as it is.
final class LayoutExportTests: XCTestCase {
    private func export(_ engine: Engine, _ stage: String, _ output: String, to directory: URL,
                        raw: Bool = false) throws -> CacheMaintenance.ExportResult {
        let maintenance = CacheMaintenance(store: engine.store)
        return try maintenance.exportArtifact(maintenance.findRecord(stage), output: output, to: directory,
                                              exporters: StageCatalog.exporters, raw: raw)
    }

    func test_augmentPool_exportsTheReferenceLayoutWithItsPCA() async throws {
        let harness = try AugmentHarness()
        let (_, outputs) = try await harness.run("num_samples: 3, shard_size: 2, num_dim: 3, plots: false")
        let out = harness.directory.appendingPathComponent("export")
        guard case .layout = try export(harness.engine, "augment", "pool", to: out) else { return XCTFail("pool copied, not laid out") }
        let fm = FileManager.default
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: out.path).sorted(),
                       ["Generated-Images", "Generated-Particles", "Original-Images", "Original-Particles", "PCA_Particle_Info", "TotalData.csv"])
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: out.appendingPathComponent("Generated-Images").path).sorted(),
                       ["Generated_sample_0001.nrrd", "Generated_sample_0002.nrrd", "Generated_sample_0003.nrrd"])
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("TotalData.csv"), encoding: .utf8),
                       try String(contentsOf: XCTUnwrap(outputs["total_data"]), encoding: .utf8))
        let pool = try TrainingPool(directory: XCTUnwrap(outputs["pool"]))
        XCTAssertEqual(try NRRD.read(out.appendingPathComponent("Generated-Images/Generated_sample_0003.nrrd")).voxels,
                       try pool.image(8).voxels)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("PCA_Particle_Info/eigenvalues.txt"), encoding: .utf8)
            .split(separator: "\n").count, 6, "one eigenvalue per training shape")
    }

    func test_augmentPool_raw_isCopiedAsCached() async throws {
        let harness = try AugmentHarness()
        _ = try await harness.run("num_samples: 2, shard_size: 2, num_dim: 3, plots: false")
        let out = harness.directory.appendingPathComponent("export")
        guard case .copy(let url) = try export(harness.engine, "augment", "pool", to: out, raw: true) else { return XCTFail("not copied") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: url.path).sorted(),
                       ["index.json", "originals.h5", "shard-00000.h5"])
    }

    func test_cohortAndSplit_exportTheShapeWorksFemurLayout() async throws {
        let dir = try CohortFixture.temporaryDirectory(self)
        let engine = try CohortFixture.engine(dir.appendingPathComponent("cache"))
        let run = try await engine.run(engine.load(yaml: """
            workflow: export
            stages:
              cohort:
                uses: femur-cohort
                params: {subjects: 3, particles: 48, voxel_size: 4, margin: 4, seed: 3}
              split:
                uses: split
                inputs: {cohort: cohort.cohort}
                params: {train: 2}
            """))
        XCTAssertTrue(run.succeeded, "\(run.stages.map { $0.error ?? "" })")
        let all = dir.appendingPathComponent("all"), train = dir.appendingPathComponent("train")
        guard case .layout = try export(engine, "cohort", "cohort", to: all),
              case .layout = try export(engine, "split", "train", to: train) else { return XCTFail("cohort copied, not laid out") }
        let cohort = try Cohort(directory: CohortFixture.output(engine, run, "cohort", "cohort"))
        XCTAssertEqual(try ShapeWorksFemurLayout.listing(of: all).ids, cohort.ids)
        XCTAssertEqual(try ShapeWorksFemurLayout.listing(of: train).ids, Array(cohort.ids.sorted().prefix(2)))
        let listing = try ShapeWorksFemurLayout.listing(of: all)
        XCTAssertEqual(try ParticleSet.read(from: listing.localParticles(cohort.ids[1])), try cohort.localParticles(1))
        XCTAssertEqual(try NRRD.read(listing.image(cohort.ids[0])).voxels, try cohort.image(0).voxels)
    }
}
