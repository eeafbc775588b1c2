import Foundation
import GeometryKit
import XCTest

/// `ssmflow predict` as a user runs it: a coarse tiny run trains a model, the
/// held-out subjects are exported as NRRD, and predicting them writes every
/// file; a saved model directory predicts the same; an image without the
/// anatomy, bad images, an unknown model reference, an untrained model and an
/// empty model directory give messages with the file and the fix, and exit 1,
/// 2, 2, 1 and 1.
final class PredictCommandTests: XCTestCase {
    private var work: URL!
    /// A tiny run, coarser still (the 60³ loaders grid is the network's smallest input).
    private let settings = ["--tiny-test", "--set", "femur-cohort.voxel_size=3", "--set", "femur-cohort.particles=64",
                            "--set", "deepssm-loaders.dims=[60,60,60]", "--cache-dir", "cache"]

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("predict-command-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: work.appendingPathComponent("workflows"),
                                                   withDestinationURL: SSMFlowProcess.repository.appendingPathComponent("workflows"))
    }

    override func tearDown() { try? FileManager.default.removeItem(at: work) }

    @discardableResult
    private func ssmflow(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try SSMFlowProcess.run(arguments, in: work)
    }

    func test_predict_heldOutImagesOfATinyRun_writesEveryFile_andBadInputsExplainThemselves() throws {
        _ = try SSMFlowProcess.binary()
        let wf = "workflows/femur_deepssm.yaml"
        // Before training: the model is missing, and the remedy is the run that trains it.
        let untrained = try ssmflow(["predict", "nothing.nrrd", "--workflow", wf] + settings)
        XCTAssertEqual(untrained.status, 1, untrained.output)
        XCTAssertTrue(untrained.output.contains("ssmflow run \(wf) --profile tiny --set femur-cohort.voxel_size=3"), untrained.output)
        XCTAssertTrue(untrained.output.contains("--until deepssm-train"), untrained.output)

        let run = try ssmflow(["run", wf, "--until", "deepssm-train"] + settings)
        XCTAssertEqual(run.status, 0, run.output)
        guard run.status == 0 else { return }
        let export = try ssmflow(["cache", "export", "split.test", "femur-test", "--cache-dir", "cache"])
        XCTAssertEqual(export.status, 0, export.output)
        let imageDirectory = work.appendingPathComponent("femur-test/groomed/images")
        let images = try FileManager.default.contentsOfDirectory(atPath: imageDirectory.path).filter { $0.hasSuffix(".nrrd") }.sorted()
        XCTAssertFalse(images.isEmpty)

        let started = Date()
        let predict = try ssmflow(["predict"] + images.map { "femur-test/groomed/images/\($0)" }
            + ["--workflow", wf, "--output", "predicted"] + settings)
        XCTAssertEqual(predict.status, 0, predict.output)
        print(String(format: "predicted %d images in %.1f s:\n%@", images.count, Date().timeIntervalSince(started), predict.output))
        for image in images {
            let dir = work.appendingPathComponent("predicted/\(image.replacingOccurrences(of: ".nrrd", with: ""))")
            for name in ["particles_image.particles", "particles_model.particles", "surface.vtk", "surface.ply", "transform.json"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), "\(dir.path)/\(name)")
            }
            XCTAssertTrue(predict.output.contains("femur-test/groomed/images/\(image): correlation"), predict.output)
        }
        let summary = try String(contentsOf: work.appendingPathComponent("predicted/summary.csv"), encoding: .utf8)
        XCTAssertEqual(summary.split(separator: "\n").count, images.count + 1, summary)

        // A saved model directory predicts the same particles without the workflow.
        let save = try ssmflow(["predict", "--workflow", wf, "--save-model", "femur-model"] + settings)
        XCTAssertEqual(save.status, 0, save.output)
        let first = "femur-test/groomed/images/\(images[0])"
        let again = try ssmflow(["predict", first, "--model-dir", "femur-model", "--output", "again"])
        XCTAssertEqual(again.status, 0, again.output)
        let name = images[0].replacingOccurrences(of: ".nrrd", with: "")
        XCTAssertEqual(try Data(contentsOf: work.appendingPathComponent("again/\(name)/particles_image.particles")),
                       try Data(contentsOf: work.appendingPathComponent("predicted/\(name)/particles_image.particles")))
        try FileManager.default.createDirectory(at: work.appendingPathComponent("empty-model"), withIntermediateDirectories: true)
        let empty = try ssmflow(["predict", first, "--model-dir", "empty-model"])
        XCTAssertEqual(empty.status, 1, empty.output)
        XCTAssertTrue(empty.output.contains("is not a model directory") && empty.output.contains("--save-model"), empty.output)

        // No anatomy in the field of view: that image fails (exit 1), the others are written.
        var noise = ImageVolume(dims: SIMD3(40, 40, 20), spacing: SIMD3(3, 3, 3), origin: SIMD3(500, 500, 500))
        noise.voxels = noise.voxels.indices.map { Float(($0 * 7919) % 13) }
        try noise.writeNRRD(to: work.appendingPathComponent("elsewhere.nrrd"))
        let far = try ssmflow(["predict", "elsewhere.nrrd", first, "--workflow", wf, "--output", "far"] + settings)
        XCTAssertEqual(far.status, 1, far.output)
        XCTAssertTrue(far.output.contains("elsewhere.nrrd") && far.output.contains("field of view"), far.output)
        XCTAssertTrue(far.output.contains("predicted 1 of 2 images"), far.output)

        // Not an image: exit 2, naming the file.
        try Data("not an image".utf8).write(to: work.appendingPathComponent("notes.nrrd"))
        let bad = try ssmflow(["predict", "notes.nrrd", "--workflow", wf] + settings)
        XCTAssertEqual(bad.status, 2, bad.output)
        XCTAssertTrue(bad.output.contains("notes.nrrd") && bad.output.contains("convert it to NRRD"), bad.output)

        // A reference that is no trained model: exit 2, naming the right one.
        let wrong = try ssmflow(["predict", "femur-test/groomed/images/\(images[0])", "--workflow", wf,
                                 "--model", "train.model"] + settings)
        XCTAssertEqual(wrong.status, 2, wrong.output)
        XCTAssertTrue(wrong.output.contains("deepssm-train.model"), wrong.output)
    }
}
