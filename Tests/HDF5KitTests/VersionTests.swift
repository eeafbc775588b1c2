import XCTest
@testable import HDF5Kit

final class VersionTests: XCTestCase {
    func test_version_isHDF5_1() {
        XCTAssertTrue(HDF5.version.hasPrefix("1."), HDF5.version)
    }
}
