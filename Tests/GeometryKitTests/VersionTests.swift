import XCTest
@testable import GeometryKit

final class VersionTests: XCTestCase {
    func test_version_isVTK9() {
        XCTAssertTrue(VTK.version.hasPrefix("9."), VTK.version)
    }
}
