import Foundation
import XCTest
@testable import GeometryKit

final class ParticlesIOTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("particles-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { [directory] in try? FileManager.default.removeItem(at: directory!) }
    }

    func test_writeThenRead_isExact() throws {
        let set = ParticleSet(points: [SIMD3(-20.8296, 5.05295, -1.9015), SIMD3(1.0 / 3, 1e-12, -7e20)])
        let url = directory.appendingPathComponent("a.particles")
        try set.write(to: url)
        XCTAssertEqual(try ParticleSet.read(from: url), set)
    }

    func test_read_shapeWorksLayoutWithTrailingSpaces() throws {
        let url = directory.appendingPathComponent("sw.particles")
        try Data("-20.8296 5.05295 -1.9015 \n-16.6211 -23.5049 -2.98822 \n".utf8).write(to: url)
        XCTAssertEqual(try ParticleSet.read(from: url).points,
                       [SIMD3(-20.8296, 5.05295, -1.9015), SIMD3(-16.6211, -23.5049, -2.98822)])
    }

    func test_read_badLine_throwsNamingFileAndLine() throws {
        let url = directory.appendingPathComponent("bad.particles")
        try Data("1 2 3\n4 5\n".utf8).write(to: url)
        XCTAssertThrowsError(try ParticleSet.read(from: url)) { error in
            let error = error as? ParticlesFileError
            XCTAssertEqual(error?.line, 2)
            XCTAssertTrue(error?.description.contains("bad.particles:2") ?? false)
        }
    }

    func test_read_missingFile_throws() {
        XCTAssertThrowsError(try ParticleSet.read(from: directory.appendingPathComponent("none.particles")))
    }
}
