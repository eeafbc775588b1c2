import Foundation
import XCTest
@testable import GeometryKit

final class RenderTests: XCTestCase {
    func test_heatMap_ofSphere_isColouredAndNotBlank() throws {
        var mesh = try VTKFixtures.sphere(radius: 12)
        mesh.pointArrays["Distance"] = mesh.points.map { $0.z - VTKFixtures.sphereCentre.z + 12 }
        let url = try VTKFixtures.temporaryDirectory(self).appendingPathComponent("sphere.png")
        try HeatMapRenderer(width: 800, height: 500).render(mesh, range: 0...24, caption: "sphere", to: url)
        let image = try RasterImage.readPNG(from: url)
        XCTAssertEqual(image.width, 800)
        XCTAssertEqual(image.height, 500)
        XCTAssertGreaterThan(image.greyVariance, 200)
        // Two sphere views plus the colour bar cover well over 10 % of the image.
        XCTAssertGreaterThan(image.colouredFraction(), 0.1)
        // The background stays white (corner pixel).
        XCTAssertEqual(image.rgb(2, 2), SIMD3(255, 255, 255))
    }

    func test_heatMap_colourFollowsTheScalar() throws {
        // Bottom half blue (low), top half red (high), seen from the front.
        var mesh = try VTKFixtures.sphere(radius: 12)
        mesh.pointArrays["Distance"] = mesh.points.map { $0.z > VTKFixtures.sphereCentre.z ? 1 : 0 }
        let url = try VTKFixtures.temporaryDirectory(self).appendingPathComponent("halves.png")
        try HeatMapRenderer(views: [.front], width: 600, height: 600).render(mesh, to: url)
        let image = try RasterImage.readPNG(from: url)
        // The view takes the left 86 %; sample its centre column above and below the middle.
        let x = Int(0.43 * 600)
        let top = image.rgb(x, 400), bottom = image.rgb(x, 200)
        XCTAssertGreaterThan(top.x, top.z + 50, "top \(top)")
        XCTAssertGreaterThan(bottom.z, bottom.x + 50, "bottom \(bottom)")
    }

    func test_heatMap_missingArray_throwsListingArrays() throws {
        let mesh = try VTKFixtures.sphere(radius: 5)
        let url = try VTKFixtures.temporaryDirectory(self).appendingPathComponent("x.png")
        XCTAssertThrowsError(try HeatMapRenderer().render(mesh, array: "Thickness", to: url)) { error in
            XCTAssertTrue("\(error)".contains("no per-vertex array 'Thickness'"), "\(error)")
        }
    }

    func test_offscreenDisplay_providesAWorkingDisplay() throws {
        try OffscreenDisplay.ensure()
        XCTAssertNotNil(OffscreenDisplay.current)
        XCTAssertNotNil(ProcessInfo.processInfo.environment["DISPLAY"])
    }

    func test_readPNG_missingFile_throwsNamingThePath() {
        XCTAssertThrowsError(try RasterImage.readPNG(from: URL(fileURLWithPath: "/nonexistent/a.png"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/a.png"), "\(error)")
        }
    }
}
