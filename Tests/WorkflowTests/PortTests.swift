import XCTest
@testable import Workflow

final class PortTests: XCTestCase {
    func test_port_defaultsToRequired() {
        XCTAssertFalse(Port("images").isOptional)
    }
}
