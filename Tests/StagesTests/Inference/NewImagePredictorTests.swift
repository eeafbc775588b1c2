import Foundation
import GeometryKit
import ShapeModel
import Workflow
import WorkflowTesting
import XCTest
@testable import Stages

/// Prediction on new images in their own frames: a held-out image moved by a
/// known rigid motion (±20°, ±30 mm), re-scanned with other intensities, gives
/// the prediction of the unmoved image, moved (0.5 mm RMSE in the image frame);
/// a mirrored image is recognised as the other side; bad inputs give messages
/// that name the file and the fix.
final class NewImagePredictorTests: XCTestCase {
    /// Shared by the tests (each writes its own file names under `root`).
    nonisolated(unsafe) private static var shared: Result<InferenceFixture, Error>?

    private var fixture: InferenceFixture {
        get throws {
            if Self.shared == nil { Self.shared = Result { try InferenceFixture() } }
            return try Self.shared!.get()
        }
    }

    override class func tearDown() {
        if case .success(let fixture)? = shared { try? FileManager.default.removeItem(at: fixture.root) }
        shared = nil
    }

    private func skipWithoutITK() throws {
        guard ImageRegistration.version != "unavailable" else {
            throw XCTSkip("libSSMFlowITK.so is not built (swift build --product SSMFlowITK; needs libinsighttoolkit5-dev from scripts/setup.sh)")
        }
    }

    private func rmse(_ a: [SIMD3<Double>], _ b: [SIMD3<Double>]) -> Double {
        (zip(a, b).map { (($0 - $1) * ($0 - $1)).sum() }.reduce(0, +) / Double(a.count)).squareRoot()
    }

    func test_predict_movedAndRescannedImages_matchTheUnmovedPredictionWithinHalfAMillimetre() throws {
        try skipWithoutITK()
        let fixture = try fixture
        let predictor = try NewImagePredictor(model: try fixture.load(), aligner: ImageAligner(threads: 2), device: "cpu", threads: 2)
        let subject = fixture.cohort.count - 1
        let unmoved = try predictor.predict(try fixture.movedImage(subject, degrees: 0, axis: SIMD3(0, 0, 1), translation: .zero,
                                                                   pad: 0, name: "unmoved"))
        XCTAssertFalse(unmoved.alignment.mirrored)
        // The network responds to the image: another subject's prediction differs by
        // more than twice what the motions change it (so the test is not of a constant).
        let other = try predictor.predict(try fixture.movedImage(0, degrees: 0, axis: SIMD3(0, 0, 1), translation: .zero,
                                                                 pad: 0, name: "other"))
        let between = rmse(other.modelParticles.points, unmoved.modelParticles.points)
        var worst = 0.0
        let motions: [(Double, SIMD3<Double>, SIMD3<Double>)] = [
            (20, SIMD3(0, 0, 1), SIMD3(30, -30, 20)),
            (-20, SIMD3(1, 0, 0), SIMD3(-30, 30, -30)),
            (20, SIMD3(1, 1, 0), SIMD3(30, 30, 30)),
            (-20, SIMD3(0, 1, 1), SIMD3(-30, -30, 30)),
        ]
        var figures: [String] = []
        for (n, (degrees, axis, t)) in motions.enumerated() {
            let started = Date()
            let url = try fixture.movedImage(subject, degrees: degrees, axis: axis, translation: t, gain: 1.3, offset: 25, name: "moved-\(n)")
            let moved = try predictor.predict(url)
            let r = ImageRegistrationMath.rotation(degrees, about: axis)
            let expected = unmoved.imageParticles.points.map { ImageRegistrationMath.apply(r, $0) + t }
            let error = rmse(moved.imageParticles.points, expected)
            let modelFrame = rmse(moved.modelParticles.points, unmoved.modelParticles.points)
            figures.append(String(format: "%+.0f° about (%g,%g,%g), t (%+.0f,%+.0f,%+.0f): image-frame RMSE %.3f mm, model-frame %.3f mm, correlation %.3f, %.1f s",
                                  degrees, axis.x, axis.y, axis.z, t.x, t.y, t.z, error, modelFrame, moved.alignment.correlation,
                                  Date().timeIntervalSince(started)))
            worst = max(worst, modelFrame)
            XCTAssertLessThan(error, 0.5, figures.last!)
            XCTAssertFalse(moved.alignment.mirrored, figures.last!)
            XCTAssertFalse(moved.alignment.isPoor, figures.last!)
        }
        figures.append(String(format: "another subject's prediction differs by %.3f mm (model frame)", between))
        print(figures.joined(separator: "\n"))
        XCTAssertGreaterThan(between, 2 * worst, figures.joined(separator: "\n"))
    }

    func test_predict_mirroredAndMovedImage_isRecognisedAsTheOtherSide() throws {
        try skipWithoutITK()
        let fixture = try fixture
        let predictor = try NewImagePredictor(model: try fixture.load(), aligner: ImageAligner(threads: 2), device: "cpu", threads: 2)
        let subject = fixture.cohort.count - 1
        let image = try fixture.cohort.image(subject)
        let plain = fixture.root.appendingPathComponent("plain.nrrd")
        try image.writeNRRD(to: plain)
        // The other side: mirrored across the image's mid-plane in x, then moved.
        let (degrees, axis, t) = (15.0, SIMD3<Double>(0, 1, 1), SIMD3<Double>(20, -25, 10))
        let other = try fixture.movedImage(ImageAligner.mirrored(image), degrees: degrees, axis: axis, translation: t,
                                           gain: 0.8, offset: -10, name: "other-side")
        let a = try predictor.predict(plain), b = try predictor.predict(other)
        XCTAssertFalse(a.alignment.mirrored)
        XCTAssertTrue(b.alignment.mirrored)
        let planeX = image.origin.x + Double(image.dims.x - 1) * image.spacing.x / 2
        let r = ImageRegistrationMath.rotation(degrees, about: axis)
        let expected = a.imageParticles.points.map { ImageRegistrationMath.apply(r, SIMD3(2 * planeX - $0.x, $0.y, $0.z)) + t }
        let error = rmse(b.imageParticles.points, expected)
        print(String(format: "mirrored and moved image: RMSE %.3f mm (image frame), correlation %.3f vs %.3f unmirrored", error,
                     b.alignment.correlation, a.alignment.correlation))
        XCTAssertLessThan(error, 0.5)
    }

    func test_write_givesEveryFileOfAnImage_andTheSameBytesTwice() throws {
        try skipWithoutITK()
        let fixture = try fixture
        let model = try fixture.load()
        let predictor = try NewImagePredictor(model: model, aligner: ImageAligner(threads: 1), device: "cpu", threads: 1)
        let url = fixture.root.appendingPathComponent("scan_01.nrrd")
        try fixture.cohort.image(0).writeNRRD(to: url)
        var digests: [[Data]] = []
        for run in 0..<2 {
            let out = fixture.root.appendingPathComponent("out-\(run)")
            let p = try predictor.predict(url)
            let dir = try PredictionWriter.write(p, model: model, into: out)
            try PredictionWriter.writeSummary([p], into: out)
            XCTAssertEqual(dir.lastPathComponent, "scan_01")
            let names = ["particles_image.particles", "particles_model.particles", "surface.vtk", "surface.ply", "transform.json"]
            digests.append(try names.map { try Data(contentsOf: dir.appendingPathComponent($0)) }
                + [try Data(contentsOf: out.appendingPathComponent("summary.csv"))])
            XCTAssertEqual(try ParticleSet.read(from: dir.appendingPathComponent("particles_image.particles")).count, model.pca.numParticles)
            let transform = try String(contentsOf: dir.appendingPathComponent("transform.json"), encoding: .utf8)
            XCTAssertTrue(transform.contains("\"correlation\""), transform)
            XCTAssertTrue(transform.contains("\"model_to_image_4x4\""), transform)
        }
        XCTAssertEqual(digests[0], digests[1], "two predictions of one image must give the same bytes")
    }

    func test_deepssmInferStage_predictsADirectoryOfImages() async throws {
        try skipWithoutITK()
        let fixture = try fixture
        let scans = fixture.root.appendingPathComponent("scans")
        try FileManager.default.createDirectory(at: scans, withIntermediateDirectories: true)
        try fixture.cohort.image(1).writeNRRD(to: scans.appendingPathComponent("scan_b.nrrd"))
        var params = DeepSSMInfer.Params()
        params.images = [scans.path]
        params.device = "cpu"
        params.threads = 2
        XCTAssertTrue(params.validate().isEmpty)
        let context = try ScratchStageContext(root: fixture.root, cache: fixture.root.appendingPathComponent("memo"),
                                              kind: DeepSSMInfer.self, params: params,
                                              inputs: ["model": fixture.model, "pca": fixture.pca, "train": fixture.cohortURL])
        try await DeepSSMInfer().run(params, context: context)
        let output = context.outputURL("predictions")
        for name in ["scan_b/particles_image.particles", "scan_b/surface.ply", "scan_b/transform.json", "summary.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path), name)
        }
        XCTAssertEqual(DeepSSMInfer.externalFiles(params), [scans.path])
        var empty = DeepSSMInfer.Params()
        empty.images = []
        XCTAssertEqual(empty.validate().map(\.parameter), ["images"])
    }

    // MARK: bad input

    func test_readImage_notNRRDOrCorrupt_namesTheFileAndTheFix() throws {
        let dir = try CohortFixture.temporaryDirectory(self)
        let text = dir.appendingPathComponent("scan.nrrd")
        try Data("this is not an image\n".utf8).write(to: text)
        XCTAssertThrowsError(try NewImagePredictor.readImage(text)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(text.path) && message.contains("convert it to NRRD"), message)
        }
        var image = ImageVolume(dims: SIMD3(8, 8, 8))
        image.voxels = image.voxels.indices.map { Float($0) }
        let truncated = dir.appendingPathComponent("truncated.nrrd")
        try image.writeNRRD(to: truncated, encoding: .raw)
        let data = try Data(contentsOf: truncated)
        try data.prefix(data.count - 100).write(to: truncated)
        XCTAssertThrowsError(try NewImagePredictor.readImage(truncated)) { error in
            XCTAssertTrue("\(error)".contains(truncated.path), "\(error)")
        }
        XCTAssertThrowsError(try NewImagePredictor.readImage(dir.appendingPathComponent("missing.nrrd"))) { error in
            XCTAssertTrue("\(error)".contains("missing.nrrd"), "\(error)")
        }
    }

    func test_predict_imageWithoutTheAnatomy_failsWithTheFieldOfViewMessage() throws {
        try skipWithoutITK()
        let fixture = try fixture
        let predictor = try NewImagePredictor(model: try fixture.load(), aligner: ImageAligner(threads: 2), device: "cpu", threads: 2)
        // The top tenth of a scan, far from the bone's shaft and head: tissue and air only.
        let image = try fixture.cohort.image(0)
        var random = SplitMix(seed: 9)
        var slab = ImageVolume(dims: SIMD3(image.dims.x, image.dims.y, 6), spacing: image.spacing,
                               origin: image.origin + SIMD3(0, 0, 400))
        slab.voxels = slab.voxels.map { _ in Float(random.unit() * 10) }
        let url = fixture.root.appendingPathComponent("elsewhere.nrrd")
        try slab.writeNRRD(to: url)
        XCTAssertThrowsError(try predictor.predict(url)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(url.path) && message.contains("field of view"), message)
        }
    }

    /// A model whose loaders downsampled with `area` is served the same way: its
    /// training reference is the box-filtered mean image, and a prediction
    /// through it differs from the linear model's on the same image (the box
    /// average of the input itself is checked in the next test).
    func test_areaLoaders_giveTheAreaReference_andBoxAveragedInputs() throws {
        try skipWithoutITK()
        let fixture = try fixture
        let copy = fixture.root.appendingPathComponent("area-model")
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(at: fixture.model, to: copy)
        let url = copy.appendingPathComponent("normalization.json")
        var normalization = try LoaderNormalization(contentsOf: url)
        normalization.downsample = .area
        try normalization.write(to: url)
        let area = try InferenceModel(modelDirectory: copy, pca: fixture.pca, trainingCohort: fixture.cohortURL, source: "area")
        let linear = try fixture.load()
        var sum = [Double](repeating: 0, count: try fixture.cohort.image(0).count)
        for i in 0..<fixture.cohort.count {
            for (v, x) in try fixture.cohort.image(i).voxels.enumerated() { sum[v] += Double(x) }
        }
        let first = try fixture.cohort.image(0)
        let mean = ImageVolume(dims: first.dims, spacing: first.spacing, origin: first.origin,
                               voxels: sum.map { Float($0 / Double(fixture.cohort.count)) })
        XCTAssertEqual(area.reference, mean.resampled(dims: InferenceFixture.dims, filter: .area))
        XCTAssertNotEqual(area.reference, linear.reference)

        let image = try fixture.movedImage(fixture.cohort.count - 1, degrees: 0, axis: SIMD3(0, 0, 1), translation: .zero,
                                           pad: 0, name: "area-input")
        let byArea = try NewImagePredictor(model: area, aligner: ImageAligner(threads: 2), device: "cpu", threads: 2).predict(image)
        let byLinear = try NewImagePredictor(model: linear, aligner: ImageAligner(threads: 2), device: "cpu", threads: 2).predict(image)
        XCTAssertNotEqual(byArea.scores, byLinear.scores)
    }

    /// With the image's spacing as footprint, a voxel of the model grid is the
    /// mean of samples spread over its box: on a grid three times coarser, the
    /// samples are the old voxel centres, so inside the grid it equals the
    /// loaders' box filter exactly; without a footprint it is trilinear.
    func test_resampleWithFootprint_isTheBoxAverage_andWithoutItTrilinear() {
        var image = ImageVolume(dims: SIMD3(24, 21, 27), spacing: SIMD3(1, 1, 1), origin: SIMD3(-3, 2, 5))
        for z in 0..<27 { for y in 0..<21 { for x in 0..<24 {
            image[x, y, z] = Float((x * 7 + y * 13 + z * 29) % 17) + Float(x * x) * 0.01
        } } }
        let identity = ImageAlignment(matrix: [1, 0, 0, 0, 1, 0, 0, 0, 1], translation: [0, 0, 0], mirrored: false,
                                      mirrorPlaneX: 0, correlation: 1, overlap: 1, scale: 1)
        let dims = SIMD3(8, 7, 9)
        let box = image.resampled(dims: dims, filter: .area)
        let sampled = ImageAligner.resample(image, through: identity, dims: dims, spacing: box.spacing, origin: box.origin,
                                            footprint: image.spacing)
        for z in 1..<(dims.z - 1) { for y in 1..<(dims.y - 1) { for x in 1..<(dims.x - 1) {
            XCTAssertEqual(sampled[x, y, z], box[x, y, z], accuracy: 1e-4)
        } } }
        let plain = ImageAligner.resample(image, through: identity, dims: dims, spacing: box.spacing, origin: box.origin)
        XCTAssertEqual(plain, image.resampled(dims: dims))
        XCTAssertNotEqual(plain, sampled)
    }

    func test_load_modelAndPCAThatDisagree_namesThePCAFileAndTheFix() throws {
        let fixture = try fixture
        let shapes = try (0..<fixture.cohort.count).map { try fixture.cohort.worldParticles($0) }
        let other = fixture.root.appendingPathComponent("other-pca")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try PCAModel.fit(shapes, numModes: 2).write(to: other.appendingPathComponent(PCAModel.fileName))
        XCTAssertThrowsError(try InferenceModel(modelDirectory: fixture.model, pca: other, trainingCohort: fixture.cohortURL, source: "fixture")) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(other.path) && message.contains("use the PCA model the network was trained with"), message)
        }
        XCTAssertThrowsError(try InferenceModel(modelDirectory: fixture.model, which: "final", pca: fixture.pca,
                                                trainingCohort: fixture.cohortURL, source: "fixture")) { error in
            XCTAssertTrue("\(error)".contains("final_model.h5"), "\(error)")
        }
    }

    func test_locate_untrainedOrUnknownModel_saysWhatToRun() throws {
        let cache = try CohortFixture.temporaryDirectory(self)
        let engine = try CohortFixture.engine(cache)
        let workflow = try engine.load(file: SSMFlowProcess.repository.appendingPathComponent("workflows/femur_deepssm.yaml"),
                                       options: ResolveOptions(profile: "tiny"))
        let locator = TrainedModelLocator(engine: engine, workflow: workflow, runCommand: "ssmflow run workflows/femur_deepssm.yaml --tiny-test")
        XCTAssertThrowsError(try locator.locate("deepssm-train.model")) { error in
            XCTAssertTrue(error is StageFailure, "\(error)")
            XCTAssertTrue("\(error)".contains("ssmflow run workflows/femur_deepssm.yaml --tiny-test --until deepssm-train"), "\(error)")
        }
        XCTAssertThrowsError(try locator.locate("train.model")) { error in
            XCTAssertTrue(error is PlanError, "\(error)")
            XCTAssertTrue("\(error)".contains("deepssm-train.model"), "\(error)")
        }
        XCTAssertThrowsError(try locator.locate("augment.pca")) { error in
            XCTAssertTrue("\(error)".contains("not a trained model"), "\(error)")
        }
    }
}
