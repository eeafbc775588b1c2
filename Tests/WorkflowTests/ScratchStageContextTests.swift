import XCTest
@testable import Workflow
import WorkflowTesting

final class ScratchStageContextTests: XCTestCase {
    private var dir: URL!

    override func setUp() { dir = Fixture.temporaryDirectory() }
    override func tearDown() { Fixture.remove(dir) }

    private func context(_ params: ParamValue) throws -> ScratchStageContext {
        try ScratchStageContext(root: dir, cache: dir.appendingPathComponent("cache"), kind: "samples", params: params)
    }

    func test_memo_followsTheStagesMemoKeys() throws {
        let three = try context(.object(["num_samples": .int(3), "seed": .int(1)]))
        let five = try context(.object(["num_samples": .int(5), "seed": .int(1)]))
        let reseeded = try context(.object(["num_samples": .int(3), "seed": .int(2)]))
        let stored = try three.memo("sample-0", ignoring: ["num_samples"]).get(in: three.scratchDirectory) { url in
            try Data("zero".utf8).write(to: url)
        }
        // The ignored parameter does not enter the key; any other one does.
        XCTAssertEqual(try five.memo("sample-0", ignoring: ["num_samples"]).lookup(), stored)
        XCTAssertNil(try reseeded.memo("sample-0", ignoring: ["num_samples"]).lookup())
        XCTAssertNil(try five.memo("sample-1", ignoring: ["num_samples"]).lookup())
        XCTAssertNotEqual(three.key, five.key)
        XCTAssertEqual(String(decoding: try Data(contentsOf: stored), as: UTF8.self), "zero")
    }

    func test_cancelAfterProgressCalls_throwsCancellation() throws {
        let context = try context(.object([:]))
        context.cancelAfterProgressCalls = 2
        context.progress(1, of: 3, "one")
        XCTAssertNoThrow(try context.checkCancellation())
        context.progress(2, of: 3, "two")
        XCTAssertThrowsError(try context.checkCancellation()) { XCTAssertTrue($0 is CancellationError) }
    }
}
