import Foundation
import XCTest
@testable import HDF5Kit

final class SampleStackTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory(self)
    }

    private let geometry = SampleStack.Geometry(dims: [4, 3, 2], spacing: [0.5, 0.5, 1], origin: [-1, 2, 3.5])

    private func image(_ i: Int) -> [Float] { (0..<24).map { Float(i * 100 + $0) } }
    private func particles(_ i: Int) -> [Double] { (0..<6).map { Double(i) + Double($0) / 10 } }

    private func writeStack(_ name: String, ids: [String]) throws -> URL {
        let url = directory.appendingPathComponent(name)
        let writer = try SampleStackWriter(creating: url, ids: ids, geometry: geometry)
        try writer.addArray("images", type: .float32, sampleShape: geometry.imageShape)
        try writer.addArray("particles_world", type: .float64, sampleShape: [2, 3])
        for i in ids.indices.reversed() { try writer.put("images", sample: i, image(i)) }
        for i in ids.indices { try writer.append("particles_world", particles(i)) }
        try writer.finish()
        return url
    }

    func test_stack_readsEachSampleAloneWithRootAttributes() throws {
        let url = try writeStack("stack.h5", ids: ["m03_L", "m04_R", "m05_L"])
        let stack = try SampleStack(contentsOf: url)
        XCTAssertEqual(stack.ids, ["m03_L", "m04_R", "m05_L"])
        XCTAssertEqual(stack.geometry, geometry)
        XCTAssertEqual(try stack.arrayNames, ["images", "particles_world"])
        XCTAssertEqual(try stack.sampleShape("images"), [2, 3, 4])
        XCTAssertEqual(try stack.array("images").chunk, [1, 2, 3, 4])
        XCTAssertEqual(try stack.sample("images", 1, as: Float.self), image(1))
        XCTAssertEqual(try stack.sample("particles_world", 2, as: Double.self), particles(2))
        XCTAssertEqual(stack.index(of: "m04_R"), 1)
    }

    func test_sampleIntoBuffer_fillsInPlace() throws {
        let stack = try SampleStack(contentsOf: try writeStack("buffer.h5", ids: ["a", "b"]))
        var batch = [Float](repeating: -1, count: 48)
        try batch.withUnsafeMutableBufferPointer { buffer in
            try stack.sample("images", 1, into: UnsafeMutableBufferPointer(rebasing: buffer[0..<24]))
            try stack.sample("images", 0, into: UnsafeMutableBufferPointer(rebasing: buffer[24..<48]))
        }
        XCTAssertEqual(batch, image(1) + image(0))
    }

    func test_finish_withMissingSample_throwsNamingArray() throws {
        let writer = try SampleStackWriter(creating: directory.appendingPathComponent("gap.h5"), ids: ["a", "b"])
        try writer.addArray("scores", type: .float64, sampleShape: [3])
        try writer.put("scores", sample: 0, [1.0, 2, 3])
        XCTAssertThrowsError(try writer.finish()) { error in
            let error = error as? HDF5Error
            XCTAssertEqual(error?.kind, .wrongShape)
            XCTAssertEqual(error?.object, "scores")
        }
    }

    func test_put_undeclaredArray_throwsMissingObject() throws {
        let writer = try SampleStackWriter(creating: directory.appendingPathComponent("undeclared.h5"), ids: ["a"])
        XCTAssertThrowsError(try writer.put("scores", sample: 0, [1.0])) { error in
            XCTAssertEqual((error as? HDF5Error)?.kind, .missingObject)
        }
    }

    func test_ids_withNewline_areRejected() throws {
        XCTAssertThrowsError(try SampleStackWriter(creating: directory.appendingPathComponent("bad.h5"), ids: ["a\nb"]))
    }

    func test_stackWithoutGeometry_hasNilGeometry() throws {
        let url = directory.appendingPathComponent("scores.h5")
        let writer = try SampleStackWriter(creating: url, ids: ["a"])
        try writer.addArray("scores", type: .float64, sampleShape: [2])
        try writer.put("scores", sample: 0, [1.0, 2])
        try writer.finish()
        XCTAssertNil(try SampleStack(contentsOf: url).geometry)
    }

    func test_sameSamples_giveIdenticalBytes() throws {
        let first = try Data(contentsOf: try writeStack("one.h5", ids: ["a", "b"]))
        Thread.sleep(forTimeInterval: 1.1)
        let second = try Data(contentsOf: try writeStack("two.h5", ids: ["a", "b"]))
        XCTAssertEqual(first, second)
    }
}
