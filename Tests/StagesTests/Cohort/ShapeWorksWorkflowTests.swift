import Foundation
import XCTest

/// Real data in one step: `workflows/femur_deepssm_shapeworks.yaml` with only
/// `data_dir` edited runs on a dataset in ShapeWorks' femur-v0 layout, written
/// here file by file from the layout's description (NRRD headers and raw
/// voxels, `x y z` particle lines, a legacy VTK mesh), not by our exporter.
final class ShapeWorksWorkflowTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("shapeworks-workflow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: work) }

    /// The workflow as a user edits it: `data_dir` replaced, nothing else.
    private func editedWorkflow(dataDir: URL) throws -> URL {
        let original = try String(contentsOf: SSMFlowProcess.repository.appendingPathComponent("workflows/femur_deepssm_shapeworks.yaml"), encoding: .utf8)
        let placeholder = "data_dir: /path/to/femur"
        XCTAssertEqual(original.components(separatedBy: placeholder).count, 2, "the workflow should name data_dir once")
        let url = work.appendingPathComponent("femur_deepssm_shapeworks.yaml")
        try original.replacingOccurrences(of: placeholder, with: "data_dir: \(dataDir.path)").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func test_realDataWorkflow_runsTinyAndPlansCpu_afterEditingOnlyDataDir() throws {
        _ = try SSMFlowProcess.binary()
        let data = work.appendingPathComponent("femur")
        try FemurV0Fixture.write(to: data, subjects: 8)
        let workflow = try editedWorkflow(dataDir: data)
        let cache = work.appendingPathComponent("cache").path

        let plan = try SSMFlowProcess.run(["plan", workflow.path, "--profile", "cpu", "--cache-dir", cache], in: work)
        XCTAssertEqual(plan.status, 0, plan.output)
        XCTAssertTrue(plan.output.contains("7 to run"), plan.output)

        let run = try SSMFlowProcess.run(["run", workflow.path, "--tiny-test", "--cache-dir", cache], in: work)
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains(" 7 ran, 0 cached, 0 failed"), run.output)
        let show = try SSMFlowProcess.run(["cache", "show", "split", "--cache-dir", cache], in: work)
        XCTAssertTrue(show.output.contains("train: 4 subjects, validation: 0, test: 3 of 7"), show.output)

        // The results as ShapeWorks opens them: a project listing images, meshes and particles.
        let predictions = work.appendingPathComponent("sw-predictions")
        let export = try SSMFlowProcess.run(["cache", "export", "deepssm-predict.predictions", predictions.path, "--cache-dir", cache], in: work)
        XCTAssertEqual(export.status, 0, export.output)
        for project in ["predictions.swproj", "truth.swproj"] {
            let data = try Data(contentsOf: predictions.appendingPathComponent(project))
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let subjects = try XCTUnwrap(json["data"] as? [[String: String]])
            XCTAssertEqual(subjects.map { $0["name"] }, ["m05_femur", "m06_femur", "m07_femur"])
            for subject in subjects {
                for key in ["shape_femur", "groomed_femur", "image_femur", "local_particles_femur", "world_particles_femur"] {
                    let path = try XCTUnwrap(subject[key], "\(project): \(key)")
                    XCTAssertTrue(FileManager.default.fileExists(atPath: predictions.appendingPathComponent(path).path), "\(project): \(path)")
                }
            }
        }
        // The model as ShapeWorks' DeepSSMUtils loads it.
        let model = work.appendingPathComponent("sw-model")
        let modelExport = try SSMFlowProcess.run(["cache", "export", "deepssm-train.model", model.path, "--cache-dir", cache], in: work)
        XCTAssertEqual(modelExport.status, 0, modelExport.output)
        for path in ["femur_deepssm.json", "femur_deepssm/best_model.torch", "torch_loaders/mean_PCA.npy"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: model.appendingPathComponent(path).path), path)
        }

        // Bad input: an export directory that is a file; an output that does not exist.
        let file = work.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        let intoFile = try SSMFlowProcess.run(["cache", "export", "deepssm-train.model", file.path, "--cache-dir", cache], in: work)
        XCTAssertEqual(intoFile.status, 2, intoFile.output)
        XCTAssertTrue(intoFile.output.contains("'\(file.path)' is a file, not a directory"), intoFile.output)
        let noOutput = try SSMFlowProcess.run(["cache", "export", "deepssm-train.weights", model.path + "-2", "--cache-dir", cache], in: work)
        XCTAssertEqual(noOutput.status, 2, noOutput.output)
        XCTAssertTrue(noOutput.output.contains("has no output 'weights'"), noOutput.output)
    }

    func test_realDataWorkflow_withTheWrongDataDir_namesTheDirectory() throws {
        _ = try SSMFlowProcess.binary()
        let missing = work.appendingPathComponent("no-such-femur")
        let workflow = try editedWorkflow(dataDir: missing)
        let run = try SSMFlowProcess.run(["run", workflow.path, "--tiny-test", "--cache-dir", work.appendingPathComponent("cache").path], in: work)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.output.contains(missing.path), run.output)
    }
}

/// A femur-v0 dataset of ellipsoids: per subject a groomed CT-like image and a
/// signed distance transform on one grid (NRRD, float, raw), local (image
/// frame) and world (centred) particles in corresponding order, and the mean
/// dense mesh (legacy VTK) and mean sparse particles.
enum FemurV0Fixture {
    static let dims = (x: 40, y: 36, z: 48)
    static let origin = (x: -20.0, y: -18.0, z: -24.0)
    static let particleCount = 128

    static func write(to root: URL, subjects: Int) throws {
        let fm = FileManager.default
        let particleDir = root.appendingPathComponent("shape_models/femur/\(particleCount)")
        for dir in ["groomed/images", "groomed/distance_transforms", "shape_models/femur/mean"] {
            try fm.createDirectory(at: root.appendingPathComponent(dir), withIntermediateDirectories: true)
        }
        try fm.createDirectory(at: particleDir, withIntermediateDirectories: true)
        let directions = fibonacciSphere(particleCount)
        var meanWorld = [SIMD3<Double>](repeating: .zero, count: particleCount)
        var meanRadii = SIMD3<Double>.zero
        for s in 0..<subjects {
            let id = String(format: "m%02d_femur", s + 1)
            let radii = SIMD3<Double>(10 + 0.5 * Double(s), 8 + 0.7 * Double(s % 3), 14 + Double(s % 2))
            let centre = SIMD3<Double>(0.3 * Double(s), -0.2 * Double(s % 4), 0.4 * Double(s % 3))
            var distance = [Float](), image = [Float]()
            distance.reserveCapacity(dims.x * dims.y * dims.z)
            for k in 0..<dims.z { for j in 0..<dims.y { for i in 0..<dims.x {
                let p = SIMD3(origin.x + Double(i), origin.y + Double(j), origin.z + Double(k))
                let q = (p - centre) / radii
                let d = ((q * q).sum().squareRoot() - 1) * radii.min()
                distance.append(Float(d))
                // Bone brighter than soft tissue, a smooth edge and a little texture.
                let texture = 5 * sin(0.7 * Double(i)) * cos(0.5 * Double(j + k))
                image.append(Float(40 + 160 / (1 + exp(d / 1.5)) + texture))
            }}}
            try nrrd(image, to: root.appendingPathComponent("groomed/images/\(id).nrrd"))
            try nrrd(distance, to: root.appendingPathComponent("groomed/distance_transforms/\(id).nrrd"))
            let world = directions.map { $0 * radii }
            try particles(world.map { $0 + centre }, to: particleDir.appendingPathComponent("\(id)_local.particles"))
            try particles(world, to: particleDir.appendingPathComponent("\(id)_world.particles"))
            for (n, p) in world.enumerated() { meanWorld[n] += p / Double(subjects) }
            meanRadii += radii / Double(subjects)
        }
        try particles(meanWorld, to: root.appendingPathComponent("shape_models/femur/mean/femur_sparse.particles"))
        try ellipsoidMesh(radii: meanRadii, to: root.appendingPathComponent("shape_models/femur/mean/femur_dense.vtk"))
    }

    /// NRRD0004 with attached raw little-endian floats, LPS, axis-aligned 1 mm voxels.
    static func nrrd(_ voxels: [Float], to url: URL) throws {
        var data = Data("""
        NRRD0004
        # written by a test from the NRRD format's description
        type: float
        dimension: 3
        space: left-posterior-superior
        sizes: \(dims.x) \(dims.y) \(dims.z)
        space directions: (1,0,0) (0,1,0) (0,0,1)
        kinds: domain domain domain
        endian: little
        encoding: raw
        space origin: (\(origin.x),\(origin.y),\(origin.z))


        """.utf8)
        for v in voxels { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        try data.write(to: url)
    }

    /// One `x y z` line per particle.
    static func particles(_ points: [SIMD3<Double>], to url: URL) throws {
        try points.map { String(format: "%.6f %.6f %.6f", $0.x, $0.y, $0.z) }.joined(separator: "\n")
            .appending("\n").write(to: url, atomically: true, encoding: .utf8)
    }

    /// A legacy ASCII VTK polydata: a latitude/longitude ellipsoid of triangles.
    static func ellipsoidMesh(radii: SIMD3<Double>, to url: URL) throws {
        let rings = 16, segments = 32
        var points: [SIMD3<Double>] = [SIMD3(0, 0, radii.z)]
        for r in 1..<rings {
            let theta = Double.pi * Double(r) / Double(rings)
            for s in 0..<segments {
                let phi = 2 * Double.pi * Double(s) / Double(segments)
                points.append(SIMD3(sin(theta) * cos(phi), sin(theta) * sin(phi), cos(theta)) * radii)
            }
        }
        points.append(SIMD3(0, 0, -radii.z))
        func ring(_ r: Int, _ s: Int) -> Int { 1 + (r - 1) * segments + (s % segments) }
        var triangles: [(Int, Int, Int)] = []
        for s in 0..<segments { triangles.append((0, ring(1, s), ring(1, s + 1))) }
        for r in 1..<(rings - 1) {
            for s in 0..<segments {
                triangles.append((ring(r, s), ring(r + 1, s), ring(r + 1, s + 1)))
                triangles.append((ring(r, s), ring(r + 1, s + 1), ring(r, s + 1)))
            }
        }
        let last = points.count - 1
        for s in 0..<segments { triangles.append((ring(rings - 1, s), last, ring(rings - 1, s + 1))) }
        var text = "# vtk DataFile Version 3.0\nmean femur\nASCII\nDATASET POLYDATA\nPOINTS \(points.count) float\n"
        text += points.map { String(format: "%.5f %.5f %.5f", $0.x, $0.y, $0.z) }.joined(separator: "\n") + "\n"
        text += "POLYGONS \(triangles.count) \(4 * triangles.count)\n"
        text += triangles.map { "3 \($0.0) \($0.1) \($0.2)" }.joined(separator: "\n") + "\n"
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// `n` nearly uniform unit directions.
    static func fibonacciSphere(_ n: Int) -> [SIMD3<Double>] {
        let golden = Double.pi * (3 - 5.0.squareRoot())
        return (0..<n).map { i in
            let z = 1 - 2 * (Double(i) + 0.5) / Double(n)
            let r = (1 - z * z).squareRoot()
            return SIMD3(r * cos(golden * Double(i)), r * sin(golden * Double(i)), z)
        }
    }
}
