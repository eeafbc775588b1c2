import Foundation
import XCTest
@testable import GeometryKit

final class NRRDTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nrrd-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { [directory] in try? FileManager.default.removeItem(at: directory!) }
    }

    private func image(dims: SIMD3<Int> = SIMD3(5, 4, 3), integers: Bool = false) -> ImageVolume {
        let voxels = (0..<(dims.x * dims.y * dims.z)).map { i -> Float in
            integers ? Float(i % 200) : Float(i) * 0.37 - 3.1 + 1e-7 * Float(i * i)
        }
        return ImageVolume(dims: dims, spacing: SIMD3(0.5, 0.75, 1.1), origin: SIMD3(-12.25, 3.5, 0.1),
                           voxels: voxels)
    }

    func test_floatRoundTrip_isExact_rawAndGzip() throws {
        for encoding in NRRD.Encoding.allCases {
            let url = directory.appendingPathComponent("float-\(encoding).nrrd")
            try image().writeNRRD(to: url, type: .float, encoding: encoding)
            XCTAssertEqual(try ImageVolume(contentsOfNRRD: url), image(), "\(encoding)")
        }
    }

    func test_integerTypesRoundTrip_rawAndGzip() throws {
        let original = image(integers: true)
        for type in [NRRD.ScalarType.uchar, .short, .ushort, .int, .double] {
            for encoding in NRRD.Encoding.allCases {
                let url = directory.appendingPathComponent("\(type)-\(encoding).nrrd")
                try original.writeNRRD(to: url, type: type, encoding: encoding)
                XCTAssertEqual(try NRRD.read(url), original, "\(type) \(encoding)")
            }
        }
    }

    func test_header_hasStandardFields() throws {
        let url = directory.appendingPathComponent("header.nrrd")
        try image().writeNRRD(to: url, type: .short, encoding: .gzip)
        let bytes = try Data(contentsOf: url)
        let header = String(decoding: bytes.prefix(while: { $0 != 0x1f }), as: UTF8.self)
        for line in ["NRRD0004", "type: short", "dimension: 3", "space: left-posterior-superior",
                     "sizes: 5 4 3", "space directions: (0.5,0,0) (0,0.75,0) (0,0,1.1000000000000001)",
                     "kinds: domain domain domain", "endian: little", "encoding: gzip",
                     "space origin: (-12.25,3.5,0.10000000000000001)"] {
            XCTAssertTrue(header.contains(line + "\n"), "missing '\(line)' in\n\(header)")
        }
        XCTAssertTrue(header.hasSuffix("\n\n"), "the header must end with one blank line")
    }

    func test_gzipWrite_isByteDeterministic() throws {
        let a = directory.appendingPathComponent("a.nrrd"), b = directory.appendingPathComponent("b.nrrd")
        try image().writeNRRD(to: a)
        try image().writeNRRD(to: b)
        XCTAssertEqual(try Data(contentsOf: a), try Data(contentsOf: b))
    }

    func test_read_rasBigEndianHeader_convertsToLPS() throws {
        let text = """
        NRRD0005
        type: unsigned short
        dimension: 3
        space: right-anterior-superior
        sizes: 2 1 1
        space directions: (-2,0,0) (0,-3,0) (0,0,4)
        endian: big
        encoding: raw
        space origin: (10,20,30)
        note:=written by hand


        """
        var data = Data(text.utf8)
        data.append(contentsOf: [0x01, 0x02, 0x00, 0x07])
        let url = directory.appendingPathComponent("ras.nrrd")
        try data.write(to: url)

        let read = try NRRD.read(url)
        XCTAssertEqual(read.voxels, [258, 7])
        XCTAssertEqual(read.spacing, SIMD3(2, 3, 4))
        XCTAssertEqual(read.origin, SIMD3(-10, -20, 30))
    }

    func test_write_valueOutsideIntegerRange_throws() {
        let url = directory.appendingPathComponent("range.nrrd")
        let volume = ImageVolume(dims: SIMD3(2, 1, 1), voxels: [0, 256])
        XCTAssertThrowsError(try volume.writeNRRD(to: url, type: .uchar)) { error in
            XCTAssertTrue("\(error)".contains("voxel 1 is 256.0"), "\(error)")
        }
    }

    func test_read_truncatedGzip_throwsNamingFile() throws {
        let url = directory.appendingPathComponent("cut.nrrd")
        try image(dims: SIMD3(30, 30, 30)).writeNRRD(to: url)
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count - 500).write(to: url)
        XCTAssertThrowsError(try NRRD.read(url)) { error in
            XCTAssertTrue("\(error)".contains("cut.nrrd"), "\(error)")
            XCTAssertTrue("\(error)".contains("ends early"), "\(error)")
        }
    }

    func test_read_truncatedRaw_throwsSayingTruncated() throws {
        let url = directory.appendingPathComponent("cut-raw.nrrd")
        try image().writeNRRD(to: url, encoding: .raw)
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count - 4).write(to: url)
        XCTAssertThrowsError(try NRRD.read(url)) { error in
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
    }

    func test_read_badHeaderLine_throwsWithLineNumber() throws {
        let url = directory.appendingPathComponent("bad.nrrd")
        try Data("NRRD0004\ntype: float\ndimension: 3\nsizes: 1 1 x\nencoding: raw\n\n\0\0\0\0".utf8).write(to: url)
        XCTAssertThrowsError(try NRRD.read(url)) { error in
            XCTAssertEqual((error as? NRRDError)?.line, 4, "\(error)")
        }
    }

    func test_read_obliqueDirections_throws() throws {
        let url = directory.appendingPathComponent("oblique.nrrd")
        try Data("NRRD0004\ntype: uchar\ndimension: 3\nsizes: 1 1 1\nspace: left-posterior-superior\nspace directions: (1,1,0) (0,1,0) (0,0,1)\nencoding: raw\n\n\0".utf8).write(to: url)
        XCTAssertThrowsError(try NRRD.read(url)) { error in
            XCTAssertTrue("\(error)".contains("axis-aligned"), "\(error)")
        }
    }
}
