import Foundation
import XCTest
import GeometryKit
@testable import Stages

final class TestSetAnalysisTests: XCTestCase {
    private func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ssmflow-analysis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    private func outputs(in dir: URL) -> TestSetAnalysis.Outputs {
        .init(table: dir.appendingPathComponent("distances.csv"), summary: dir.appendingPathComponent("summary.json"),
              meshes: dir.appendingPathComponent("meshes"), heatmaps: dir.appendingPathComponent("heatmaps"))
    }

    /// Two "femurs": spheres of 11 and 12 mm, predicted as 10.5 and 12.5.
    private func subjects(_ analysis: SurfaceAnalysis) -> [TestSetAnalysis.Subject] {
        [("a_L", 11.0, 1.05), ("b_R", 12.0, 1.25)].map { id, radius, factor in
            let predicted = AnalysisFixtures.scaled(analysis.meanParticles, by: factor)
            return TestSetAnalysis.Subject(id: id, distanceTransform: AnalysisFixtures.distanceField(radius: radius),
                                           predictedLocal: predicted, predictedWorld: predicted)
        }
    }

    func test_run_writesTableSummaryMeshesAndHeatMaps() throws {
        let dir = try scratch(), out = outputs(in: dir)
        let surfaces = try AnalysisFixtures.analysis()
        let list = subjects(surfaces)
        let table = try TestSetAnalysis(surfaces: surfaces, imageWidth: 600, imageHeight: 400)
            .run(count: list.count, load: { list[$0] }, outputs: out)

        XCTAssertEqual(table.rows.map(\.id), ["a_L", "b_R"])
        XCTAssertEqual(table.rows[0].predicted.meanSymmetric, 0.5, accuracy: 0.05)
        XCTAssertEqual(table.rows[1].predicted.meanSymmetric, 0.5, accuracy: 0.05)
        XCTAssertEqual(table.rows[0].baseline.meanSymmetric, 1, accuracy: 0.05)
        XCTAssertEqual(try String(contentsOf: out.table, encoding: .utf8), table.csv)
        XCTAssertEqual(try Data(contentsOf: out.summary), try table.summaryJSON())
        for id in ["a_L", "b_R"] {
            for surface in ["original", "predicted", "baseline"] {
                let mesh = try Mesh.read(from: out.meshes.appendingPathComponent("\(id)_\(surface).vtk"))
                XCTAssertEqual(mesh.pointArrays["Distance"]?.count, mesh.points.count, "\(id) \(surface)")
            }
            for surface in ["original", "predicted"] {
                let image = try RasterImage.readPNG(from: out.heatmaps.appendingPathComponent("\(id)_\(surface).png"))
                XCTAssertEqual(image.width, 600)
                XCTAssertGreaterThan(image.greyVariance, 100, "\(id) \(surface)")
                XCTAssertGreaterThan(image.colouredFraction(), 0.05, "\(id) \(surface)")
            }
        }
    }

    func test_run_sameInputs_giveSameBytes() throws {
        let surfaces = try AnalysisFixtures.analysis()
        let list = subjects(surfaces)
        var tables: [Data] = [], meshes: [Data] = []
        for _ in 0..<2 {
            let out = outputs(in: try scratch())
            _ = try TestSetAnalysis(surfaces: surfaces, render: false).run(count: list.count, load: { list[$0] }, outputs: out)
            tables.append(try Data(contentsOf: out.table))
            meshes.append(try Data(contentsOf: out.meshes.appendingPathComponent("b_R_predicted.vtk")))
        }
        XCTAssertEqual(tables[0], tables[1])
        XCTAssertEqual(meshes[0], meshes[1])
    }

    func test_colourScaleTop_isThe99thPercentileRoundedUpToHalfMillimetres() throws {
        var mesh = Mesh(points: (0..<200).map { SIMD3(Double($0), 0, 0) }, triangles: [])
        mesh.pointArrays["Distance"] = (0..<200).map { $0 == 199 ? 50 : Double($0) / 100 }
        let result = SurfaceAnalysis.Result(
            row: SubjectDistances(id: "x", predicted: .init(fromFirst: [], fromSecond: []),
                                  baseline: .init(fromFirst: [], fromSecond: [])),
            original: mesh, predicted: mesh, baseline: mesh)
        // 400 values, 99th percentile at index 396: 1.98 → 2.0; the outlier 50 is ignored.
        XCTAssertEqual(TestSetAnalysis.colourScaleTop([result]), 2.0)
    }

    func test_views_lookAtTheBroadFaceWithTheLongAxisUp() throws {
        // An ellipsoid long in z, thin in y: views along ±y with z up.
        let mesh = try AnalysisFixtures.sphere(radius: 10)
        let stretched = Mesh(points: mesh.points.map { AnalysisFixtures.centre + ($0 - AnalysisFixtures.centre) * [1, 0.5, 2] },
                             triangles: mesh.triangles)
        let views = TestSetAnalysis.views(facing: stretched)
        XCTAssertEqual(views.count, 2)
        XCTAssertEqual(abs(views[0].direction.y), 1, accuracy: 1e-6)
        XCTAssertEqual(views[0].direction, -views[1].direction)
        XCTAssertEqual(abs(views[0].up.z), 1, accuracy: 1e-6)
    }
}
