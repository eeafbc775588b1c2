import Foundation
import GeometryKit
import Workflow
import XCTest
@testable import Stages

final class ShapeWorksFemurTests: XCTestCase {
    /// A tiny synthetic cohort and its export in the femur-v0 layout, made once
    /// for the class (generating is the slow part); tests edit copies.
    nonisolated(unsafe) private static var shared: (directory: URL, cohort: URL, root: URL)?

    override class func tearDown() {
        if let shared { try? FileManager.default.removeItem(at: shared.directory) }
        shared = nil
        super.tearDown()
    }

    private func dataset() throws -> (cohort: Cohort, root: URL) {
        if Self.shared == nil {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cohort-tests-\(UUID().uuidString)")
            let cohortURL = directory.appendingPathComponent("cohort"), root = directory.appendingPathComponent("femur-v0")
            try CohortFixture.write(FemurCohortGenerator(CohortFixture.params(subjects: 2), threads: 2), to: cohortURL)
            try ShapeWorksFemurLayout.export(Cohort(directory: cohortURL), to: root)
            Self.shared = (directory, cohortURL, root)
        }
        let shared = Self.shared!
        let root = try CohortFixture.temporaryDirectory(self).appendingPathComponent("femur-v0")
        try FileManager.default.copyItem(at: shared.root, to: root)
        return (try Cohort(directory: shared.cohort), root)
    }

    private func loadError(_ root: URL, file: StaticString = #filePath, line: UInt = #line) -> String {
        let output = root.deletingLastPathComponent().appendingPathComponent("loaded-\(UUID().uuidString)")
        do {
            try ShapeWorksFemur.load(root, into: output)
            XCTFail("loading \(root.path) should fail", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func test_export_thenLoad_givesTheSameCohort() throws {
        let (cohort, root) = try dataset()
        let output = root.deletingLastPathComponent().appendingPathComponent("loaded")
        try ShapeWorksFemur.load(root, into: output)
        let loaded = try Cohort(directory: output)
        XCTAssertEqual(loaded.ids, cohort.ids)
        XCTAssertEqual(loaded.dims, cohort.dims)
        XCTAssertEqual(loaded.numParticles, cohort.numParticles)
        for i in cohort.ids.indices {
            XCTAssertEqual(try loaded.image(i).voxels, try cohort.image(i).voxels)
            XCTAssertEqual(try loaded.distanceTransform(i).voxels, try cohort.distanceTransform(i).voxels)
            XCTAssertEqual(try loaded.localParticles(i), try cohort.localParticles(i))
            XCTAssertEqual(try loaded.worldParticles(i), try cohort.worldParticles(i))
            // DT ≤ 0 against DT < 0: only voxels exactly on the surface may differ.
            let a = try loaded.segmentation(i).voxels, b = try cohort.segmentation(i).voxels
            XCTAssertLessThanOrEqual(zip(a, b).filter { $0 != $1 }.count, 2)
            XCTAssertEqual(try loaded.mesh(i).points.count, try cohort.mesh(i).points.count)
        }
        XCTAssertEqual(try loaded.meanParticles(), try cohort.meanParticles())
        XCTAssertEqual(try loaded.meanMesh().points.count, try cohort.meanMesh().points.count)
    }

    func test_export_writesFilesThatNRRDVTKAndHDF5ToolsOpen() throws {
        let (cohort, root) = try dataset()
        let id = cohort.ids[0]
        let image = try NRRD.read(root.appendingPathComponent("groomed/images/\(id).nrrd"))
        XCTAssertEqual(image.dims, cohort.dims)
        let segmentation = try NRRD.read(root.appendingPathComponent("groomed/segmentations/\(id).nrrd"))
        XCTAssertEqual(Set(segmentation.voxels), [0, 1])
        let mesh = try Mesh.read(from: root.appendingPathComponent("groomed/meshes/\(id).vtk"))
        XCTAssertGreaterThan(mesh.triangles.count, 100)
        let mean = try Mesh.read(from: root.appendingPathComponent("shape_models/femur/mean/femur_dense.vtk"))
        XCTAssertGreaterThan(mean.triangles.count, 100)
        // The subject stack opens in the HDF5 command-line tools.
        let h5dump = Process()
        h5dump.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        h5dump.arguments = ["h5dump", "-H", cohort.directory.appendingPathComponent("subjects.h5").path]
        let pipe = Pipe()
        h5dump.standardOutput = pipe
        h5dump.standardError = pipe
        try h5dump.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        h5dump.waitUntilExit()
        XCTAssertEqual(h5dump.terminationStatus, 0, text)
        for name in ["images", "segmentations", "distance_transforms", "particles_local", "particles_world"] {
            XCTAssertTrue(text.contains("DATASET \"\(name)\""), "h5dump lists no \(name)")
        }
    }

    func test_load_whenDirectoryMissing_namesIt() {
        let root = URL(fileURLWithPath: "/nonexistent/femur-v0")
        XCTAssertEqual(loadError(root), "data directory /nonexistent/femur-v0 does not exist; set data_dir to the folder that holds groomed/ and shape_models/")
    }

    func test_load_whenDistanceTransformFolderMissing_namesIt() throws {
        let (_, root) = try dataset()
        try FileManager.default.removeItem(at: root.appendingPathComponent("groomed/distance_transforms"))
        XCTAssertEqual(loadError(root), "\(root.path)/groomed/distance_transforms is missing; a ShapeWorks femur dataset needs groomed/distance_transforms/ (see docs/cohort.md for the layout)")
    }

    func test_load_whenImageHasNoParticles_namesBothFiles() throws {
        let (cohort, root) = try dataset()
        let id = cohort.ids[1]
        try FileManager.default.removeItem(at: root.appendingPathComponent("shape_models/femur/96/\(id)_world.particles"))
        XCTAssertEqual(loadError(root), "image \(root.path)/groomed/images/\(id).nrrd has no world particles: expected \(root.path)/shape_models/femur/96/\(id)_world.particles; add the file or remove the image")
    }

    func test_load_whenParticlesHaveNoImage_namesBothFiles() throws {
        let (cohort, root) = try dataset()
        let dir = root.appendingPathComponent("shape_models/femur/96")
        try FileManager.default.copyItem(at: dir.appendingPathComponent("\(cohort.ids[0])_local.particles"),
                                         to: dir.appendingPathComponent("zz9_L_local.particles"))
        XCTAssertEqual(loadError(root), "particles \(dir.path)/zz9_L_local.particles have no image: expected \(root.path)/groomed/images/zz9_L.nrrd; add the image or remove the particles")
    }

    func test_load_whenParticleCountsDiffer_namesBothFiles() throws {
        let (cohort, root) = try dataset()
        let dir = root.appendingPathComponent("shape_models/femur/96")
        let url = dir.appendingPathComponent("\(cohort.ids[1])_world.particles")
        try ParticleSet(points: Array(try ParticleSet.read(from: url).points.prefix(90))).write(to: url)
        XCTAssertEqual(loadError(root), "\(url.path) has 90 particles but \(dir.path)/\(cohort.ids[0])_local.particles has 96; every particle file of a shape model has the same count")
    }

    func test_load_whenALineIsMalformed_namesFileAndLine() throws {
        let (cohort, root) = try dataset()
        let url = root.appendingPathComponent("shape_models/femur/96/\(cohort.ids[0])_local.particles")
        var lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
        lines[2] = "1.0 2.0 x"
        try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        XCTAssertEqual(loadError(root), "\(url.path):3: expected three numbers 'x y z', found '1.0 2.0 x'")
    }

    func test_load_whenImagesDifferInSize_namesBothImages() throws {
        let (cohort, root) = try dataset()
        let id = cohort.ids[1]
        let small = ImageVolume(dims: cohort.dims &- 1, spacing: cohort.spacing, origin: cohort.origin, fill: 0)
        try NRRD.write(small, to: root.appendingPathComponent("groomed/images/\(id).nrrd"))
        let message = loadError(root)
        XCTAssertTrue(message.hasPrefix("image \(root.path)/groomed/images/\(id).nrrd is \(cohort.dims.x - 1)×\(cohort.dims.y - 1)×\(cohort.dims.z - 1) voxels"), message)
        XCTAssertTrue(message.hasSuffix("groomed images must share one grid — regroom them together"), message)
        XCTAssertTrue(message.contains("groomed/images/\(cohort.ids[0]).nrrd is \(cohort.dims.x)×"), message)
    }

    func test_load_whenSeveralParticleFolders_asksToChoose() throws {
        let (_, root) = try dataset()
        try FileManager.default.createDirectory(at: root.appendingPathComponent("shape_models/femur/512"),
                                                withIntermediateDirectories: true)
        XCTAssertEqual(loadError(root), "\(root.path)/shape_models/femur has several particle folders (512, 96); choose one with particles_dir")
    }

    func test_params_requireADataDirectory() {
        XCTAssertEqual(ShapeWorksFemur.Params().validate().map(\.message), ["is required: the folder that holds groomed/ and shape_models/"])
        var p = ShapeWorksFemur.Params()
        p.data_dir = "data/femur"
        XCTAssertEqual(ShapeWorksFemur.externalFiles(p), ["data/femur"])
    }
}
