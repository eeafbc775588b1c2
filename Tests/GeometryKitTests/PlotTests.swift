import Foundation
import XCTest
@testable import GeometryKit

final class PlotTests: XCTestCase {
    /// Deterministic pseudo-random values (SplitMix64), so the pictures are reproducible.
    private struct SplitMix {
        var state: UInt64
        mutating func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
        mutating func normal() -> Double {
            (-2 * log(max(next(), 1e-300))).squareRoot() * cos(2 * .pi * next())
        }
    }

    private func groups(dims k: Int) -> [Plot.Group] {
        var rng = SplitMix(state: 7)
        let originals = (0..<40).map { _ in (0..<k).map { d in rng.normal() * Double(k - d) } }
        let generated = (0..<2000).map { _ in (0..<k).map { d in rng.normal() * Double(k - d) * 1.1 } }
        return [Plot.Group(name: "original", rows: originals), Plot.Group(name: "generated", rows: generated)]
    }

    private func assertNotBlank(_ url: URL, width: Int, height: Int, file: StaticString = #filePath,
                                line: UInt = #line) throws {
        let image = try RasterImage.readPNG(from: url)
        XCTAssertEqual(image.width, width, file: file, line: line)
        XCTAssertEqual(image.height, height, file: file, line: line)
        XCTAssertGreaterThan(image.greyVariance, 50, file: file, line: line)
        XCTAssertGreaterThan(image.colouredFraction(), 0.002, file: file, line: line)
    }

    func test_lines_trainingCurveWithLogAxis_isNotBlank() throws {
        let epochs = (1...50).map(Double.init)
        let url = try VTKFixtures.temporaryDirectory(self).appendingPathComponent("curve.png")
        try Plot.lines([Plot.Series(name: "train", x: epochs, y: epochs.map { 2 * exp(-$0 / 10) + 0.05 }),
                        Plot.Series(name: "validation", x: epochs, y: epochs.map { 2.2 * exp(-$0 / 12) + 0.1 })],
                       title: "training", xLabel: "epoch", yLabel: "relative error", logY: true, to: url)
        try assertNotBlank(url, width: 900, height: 600)
    }

    func test_lines_singlePointSeries_isDrawnAsAMarker() throws {
        let url = try VTKFixtures.temporaryDirectory(self).appendingPathComponent("one-epoch.png")
        try Plot.lines([Plot.Series(name: "train", x: [1], y: [0.8])], title: "one epoch", xLabel: "epoch",
                       yLabel: "error", width: 400, height: 300, to: url)
        // The axes centre on the lone point, so the marker sits mid-chart, far from
        // the legend's swatch; axes, grid and text are grey or black.
        let image = try RasterImage.readPNG(from: url)
        let coloured = (190...230).contains { x in
            (135...185).contains { y in let c = image.rgb(x, y); return max(c.x, c.y, c.z) - min(c.x, c.y, c.z) > 60 }
        }
        XCTAssertTrue(coloured, "no marker near the middle of the chart")
    }

    func test_scatterMatrix_ofTwoGroups_isNotBlank() throws {
        let url = try VTKFixtures.temporaryDirectory(self).appendingPathComponent("matrix.png")
        try Plot.scatterMatrix(groups(dims: 4), labels: (1...4).map { "PCA \($0)" },
                               title: "original vs generated scores", size: 1000, to: url)
        try assertNotBlank(url, width: 1000, height: 1000)
    }

    func test_histograms_ofTwoGroups_isNotBlank() throws {
        let url = try VTKFixtures.temporaryDirectory(self).appendingPathComponent("hist.png")
        try Plot.histograms(groups(dims: 6), labels: (1...6).map { "PCA \($0)" },
                            title: "score distributions", to: url)
        try assertNotBlank(url, width: 1200, height: 700)
    }

    func test_scatterMatrix_rowOfWrongLength_throwsNamingTheGroup() throws {
        let url = try VTKFixtures.temporaryDirectory(self).appendingPathComponent("bad.png")
        let bad = [Plot.Group(name: "generated", rows: [[1, 2], [3]])]
        XCTAssertThrowsError(try Plot.scatterMatrix(bad, labels: ["a", "b"], title: "t", to: url)) { error in
            XCTAssertTrue("\(error)".contains("group 'generated': row 1 has 1 values"), "\(error)")
        }
    }
}
