import Foundation
import HDF5Kit
import XCTest
@testable import Stages

final class HDF5InspectorTests: XCTestCase {
    func test_directoryWithStacks_describesEachHDF5File_andSkipsOthers() throws {
        let folder = try makeLoaderTestFolder("inspector-tests")
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let file = try HDF5File(creating: folder.appendingPathComponent("train.h5"))
        try file.write([Float](arrayLiteral: 1, 3), to: "targets", shape: [1, 2])
        file.close()
        try Data("{}".utf8).write(to: folder.appendingPathComponent("normalization.json"))

        let lines = try XCTUnwrap(try HDF5Inspector().summary(of: folder))
        XCTAssertEqual(lines.first, "train.h5:")
        XCTAssertTrue(lines.contains("    targets  float32 [1, 2]  min 1 max 3 mean 2 nan 0"), "\(lines)")
        XCTAssertNil(try HDF5Inspector().summary(of: folder.appendingPathComponent("normalization.json")))
    }
}
