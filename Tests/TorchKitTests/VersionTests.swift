import XCTest
@testable import TorchKit

final class VersionTests: XCTestCase {
    func test_version_isLinkedLibtorch() {
        XCTAssertTrue(Torch.version.hasPrefix("1.") || Torch.version.hasPrefix("2."), Torch.version)
    }
}
