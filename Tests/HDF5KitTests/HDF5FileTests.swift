import Foundation
import XCTest
@testable import HDF5Kit

final class HDF5FileTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory(self)
    }

    private func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    func test_write_thenRead_roundTripsEveryElementType() throws {
        let file = try HDF5File(creating: url("types.h5"))
        try file.write([Float](arrayLiteral: 1.5, -2, .greatestFiniteMagnitude), to: "f32")
        try file.write([Double](arrayLiteral: .pi, -1e300, 0), to: "f64")
        try file.write([Int32](arrayLiteral: .min, 0, .max), to: "i32")
        try file.write([Int64](arrayLiteral: .min, 7, .max), to: "i64")
        try file.write([UInt8](arrayLiteral: 0, 1, 255), to: "u8")
        file.close()

        let reopened = try HDF5File(contentsOf: url("types.h5"))
        XCTAssertEqual(try reopened.read("f32", as: Float.self), [1.5, -2, .greatestFiniteMagnitude])
        XCTAssertEqual(try reopened.read("f64", as: Double.self), [.pi, -1e300, 0])
        XCTAssertEqual(try reopened.read("i32", as: Int32.self), [.min, 0, .max])
        XCTAssertEqual(try reopened.read("i64", as: Int64.self), [.min, 7, .max])
        XCTAssertEqual(try reopened.read("u8", as: UInt8.self), [0, 1, 255])
        XCTAssertEqual(try reopened.dataset("u8").type, .uint8)
    }

    func test_chunkedGzipArray_roundTripsShapeAndValues() throws {
        let values = (0..<(4 * 5 * 6)).map { Float($0) * 0.25 }
        let file = try HDF5File(creating: url("nd.h5"))
        try file.write(values, to: "volume", shape: [4, 5, 6], storage: .chunked([1, 5, 6]))
        file.close()

        let dataset = try HDF5File(contentsOf: url("nd.h5")).dataset("volume")
        XCTAssertEqual(dataset.shape, [4, 5, 6])
        XCTAssertEqual(dataset.chunk, [1, 5, 6])
        XCTAssertEqual(try dataset.read(as: Float.self), values)
    }

    func test_readSlice_returnsOnlyThatRow() throws {
        let values = (0..<(5 * 3 * 2)).map { Double($0) }
        let file = try HDF5File(creating: url("slices.h5"))
        try file.write(values, to: "stack", shape: [5, 3, 2], storage: .chunked([1, 3, 2]))
        file.close()

        let dataset = try HDF5File(contentsOf: url("slices.h5")).dataset("stack")
        XCTAssertEqual(try dataset.readSlice(3, as: Double.self), Array(values[18..<24]))
        XCTAssertEqual(try dataset.readSlices(1..<3, as: Double.self), Array(values[6..<18]))
    }

    func test_readSlice_outOfRange_throwsWrongShape() throws {
        let file = try HDF5File(creating: url("range.h5"))
        try file.write([Float](repeating: 0, count: 6), to: "stack", shape: [3, 2])
        XCTAssertThrowsError(try file.dataset("stack").readSlice(3, as: Float.self)) { error in
            XCTAssertEqual((error as? HDF5Error)?.kind, .wrongShape)
        }
    }

    func test_writeSlice_fillsRowsInAnyOrder() throws {
        let file = try HDF5File(creating: url("put.h5"))
        let dataset = try file.createDataset("rows", type: .int32, shape: [3, 2], storage: .chunked([1, 2]))
        try dataset.writeSlice(2, [Int32(5), 6])
        try dataset.writeSlice(0, [Int32(1), 2])
        try dataset.writeSlice(1, [Int32(3), 4])
        XCTAssertEqual(try file.read("rows", as: Int32.self), [1, 2, 3, 4, 5, 6])
    }

    func test_groupPaths_createParentsAndListDatasets() throws {
        let file = try HDF5File(creating: url("groups.h5"))
        try file.write([Double](repeating: 1, count: 6), to: "meshes/m03_L/points", shape: [2, 3])
        try file.write([Int32](arrayLiteral: 0, 1, 2), to: "meshes/m03_L/triangles", shape: [1, 3])
        try file.write([Float](arrayLiteral: 0), to: "top")
        XCTAssertTrue(file.contains("meshes/m03_L"))
        XCTAssertFalse(file.contains("meshes/m04_R/points"))
        XCTAssertEqual(try file.children(of: "meshes"), ["m03_L"])
        XCTAssertEqual(try file.datasetPaths(), ["meshes/m03_L/points", "meshes/m03_L/triangles", "top"])
    }

    func test_attributes_roundTripEveryKind() throws {
        let file = try HDF5File(creating: url("attrs.h5"))
        try file.write([Float](arrayLiteral: 1), to: "data")
        try file.setAttribute("stage", .string("augment"))
        try file.setAttribute("empty", .string(""))
        try file.setAttribute("sigma", .double(0.5))
        try file.setAttribute("seed", .int(42))
        try file.setAttribute("spacing", .doubles([0.5, 0.5, 1.25]))
        try file.setAttribute("dims", .ints([88, 118, 98]), on: "/")
        try file.setAttribute("units", .string("mm"), on: "data")
        try file.setAttribute("seed", .int(43))  // replaced, not duplicated
        file.close()

        let reopened = try HDF5File(contentsOf: url("attrs.h5"))
        XCTAssertEqual(try reopened.attributeNames(), ["dims", "empty", "seed", "sigma", "spacing", "stage"])
        XCTAssertEqual(try reopened.attribute("stage"), .string("augment"))
        XCTAssertEqual(try reopened.stringAttribute("empty"), "")
        XCTAssertEqual(try reopened.attribute("sigma"), .double(0.5))
        XCTAssertEqual(try reopened.attribute("seed"), .int(43))
        XCTAssertEqual(try reopened.doublesAttribute("spacing"), [0.5, 0.5, 1.25])
        XCTAssertEqual(try reopened.intsAttribute("dims"), [88, 118, 98])
        XCTAssertEqual(try reopened.stringAttribute("units", of: "data"), "mm")
    }

    func test_sameWrites_giveIdenticalBytes() throws {
        func writeFile(_ name: String) throws -> Data {
            let file = try HDF5File(creating: url(name))
            try file.setAttribute("stage", .string("loaders"))
            try file.write((0..<1000).map { Float($0).squareRoot() }, to: "images/a", shape: [10, 100],
                           storage: .chunked([1, 100]))
            try file.write([Double](arrayLiteral: 1, 2, 3), to: "scores")
            file.close()
            return try Data(contentsOf: url(name))
        }
        let first = try writeFile("first.h5")
        // Object time stamps have one-second resolution: make sure they would differ.
        Thread.sleep(forTimeInterval: 1.1)
        let second = try writeFile("second.h5")
        XCTAssertEqual(first, second)
    }

    func test_sameWrites_closedInAnotherOrder_giveIdenticalBytes() throws {
        func writeFile(_ name: String, closeFirstDatasetFirst: Bool) throws -> Data {
            let file = try HDF5File(creating: url(name))
            var a: HDF5Dataset? = try file.createDataset("a", type: .float32, shape: [4, 50], storage: .chunked([1, 50]))
            var b: HDF5Dataset? = try file.createDataset("b", type: .float64, shape: [4, 3], storage: .chunked([1, 3]))
            for row in 0..<4 {
                try a!.writeSlice(row, (0..<50).map { Float(row * 50 + $0) })
                try b!.writeSlice(row, [Double(row), 1, 2])
            }
            if closeFirstDatasetFirst { a = nil; b = nil } else { b = nil; a = nil }
            file.close()
            return try Data(contentsOf: url(name))
        }
        XCTAssertEqual(try writeFile("ab.h5", closeFirstDatasetFirst: true),
                       try writeFile("ba.h5", closeFirstDatasetFirst: false))
    }

    func test_open_missingFile_throwsMissingFileNamingIt() throws {
        XCTAssertThrowsError(try HDF5File(contentsOf: url("absent.h5"))) { error in
            let error = error as? HDF5Error
            XCTAssertEqual(error?.kind, .missingFile)
            XCTAssertTrue(error?.description.contains("absent.h5") ?? false)
        }
    }

    func test_open_textFile_throwsCorruptFile() throws {
        try Data("not hdf5 at all".utf8).write(to: url("text.h5"))
        XCTAssertThrowsError(try HDF5File(contentsOf: url("text.h5"))) { error in
            XCTAssertEqual((error as? HDF5Error)?.kind, .corruptFile)
        }
    }

    func test_truncatedFile_throwsCorruptFile() throws {
        let file = try HDF5File(creating: url("full.h5"))
        try file.write((0..<100_000).map { Double($0) }, to: "big")
        file.close()
        let bytes = try Data(contentsOf: url("full.h5"))
        try bytes.prefix(bytes.count / 2).write(to: url("truncated.h5"))

        XCTAssertThrowsError(try HDF5File(contentsOf: url("truncated.h5")).read("big", as: Double.self)) { error in
            let error = error as? HDF5Error
            XCTAssertEqual(error?.kind, .corruptFile)
            XCTAssertTrue(error?.description.contains("truncated.h5") ?? false, "\(String(describing: error))")
        }
    }

    func test_read_missingDataset_throwsNamingDatasetAndListingOthers() throws {
        let file = try HDF5File(creating: url("some.h5"))
        try file.write([Float](arrayLiteral: 1), to: "images")
        XCTAssertThrowsError(try file.read("particles", as: Float.self)) { error in
            let error = error as? HDF5Error
            XCTAssertEqual(error?.kind, .missingObject)
            XCTAssertEqual(error?.object, "particles")
            XCTAssertTrue(error?.message.contains("images") ?? false)
        }
    }

    func test_read_wrongType_throwsWrongType() throws {
        let file = try HDF5File(creating: url("typed.h5"))
        try file.write([Double](arrayLiteral: 1), to: "scores")
        XCTAssertThrowsError(try file.read("scores", as: Float.self)) { error in
            let error = error as? HDF5Error
            XCTAssertEqual(error?.kind, .wrongType)
            XCTAssertTrue(error?.message.contains("float64") ?? false)
        }
    }

    func test_read_unexpectedShape_throwsWrongShape() throws {
        let file = try HDF5File(creating: url("shaped.h5"))
        try file.write([Float](repeating: 0, count: 6), to: "m", shape: [2, 3])
        XCTAssertThrowsError(try file.read("m", as: Float.self, shape: [3, 2])) { error in
            XCTAssertEqual((error as? HDF5Error)?.kind, .wrongShape)
        }
    }

    func test_write_wrongCount_throwsWrongShape() throws {
        let file = try HDF5File(creating: url("count.h5"))
        XCTAssertThrowsError(try file.write([Float](repeating: 0, count: 5), to: "m", shape: [2, 3])) { error in
            XCTAssertEqual((error as? HDF5Error)?.kind, .wrongShape)
        }
    }

    func test_createDataset_twice_throwsAlreadyExists() throws {
        let file = try HDF5File(creating: url("twice.h5"))
        try file.write([Float](arrayLiteral: 1), to: "a")
        XCTAssertThrowsError(try file.write([Float](arrayLiteral: 1), to: "a")) { error in
            XCTAssertEqual((error as? HDF5Error)?.kind, .alreadyExists)
        }
    }

    func test_missingAttribute_throwsMissingObject() throws {
        let file = try HDF5File(creating: url("noattr.h5"))
        try file.setAttribute("seed", .int(1))
        XCTAssertThrowsError(try file.attribute("ids")) { error in
            let error = error as? HDF5Error
            XCTAssertEqual(error?.kind, .missingObject)
            XCTAssertTrue(error?.message.contains("seed") ?? false)
        }
    }
}
