import XCTest
@testable import Stages

final class CatalogTests: XCTestCase {
    func test_catalog_kindsAreUnique() {
        let kinds = StageCatalog.all.map { $0.kind }
        XCTAssertEqual(Set(kinds).count, kinds.count)
    }
}
