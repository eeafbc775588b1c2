import Foundation
import XCTest
@testable import HDF5Kit

final class HDF5SummaryTests: XCTestCase {
    func test_describe_listsTypeShapeStatisticsAndAttributes() throws {
        let url = try makeTemporaryDirectory(self).appendingPathComponent("summary.h5")
        let file = try HDF5File(creating: url)
        try file.write([Float](arrayLiteral: 1, 2, .nan, 5), to: "images", shape: [2, 2])
        try file.write([UInt8](arrayLiteral: 0, 1, 1, 1), to: "masks/seg")
        try file.setAttribute("ids", .string("a\nb"))
        try file.setAttribute("units", .string("mm"), on: "images")
        file.close()

        let text = try HDF5Summary.describe(url)
        XCTAssertTrue(text.contains("images  float32 [2, 2]  min 1 max 5 mean 2.66667 nan 1"), text)
        XCTAssertTrue(text.contains("masks/seg  uint8 [4]  min 0 max 1 mean 0.75 nan 0"), text)
        XCTAssertTrue(text.contains("@ids = \"a\", ... (2 lines)"), text)
        XCTAssertTrue(text.contains("@units = \"mm\""), text)
    }

    func test_describe_largeDataset_coversFirstSlicesAndSaysSo() throws {
        let url = try makeTemporaryDirectory(self).appendingPathComponent("large.h5")
        let file = try HDF5File(creating: url)
        try file.write((0..<40).map { Double($0) }, to: "rows", shape: [10, 4])
        file.close()
        let text = try HDF5Summary.describe(url, statisticsLimit: 1)
        XCTAssertTrue(text.contains("rows  float64 [10, 4]  min 0 max 3 mean 1.5 nan 0 (first 1 of 10 slices)"), text)
    }
}
