import XCTest
@testable import Workflow

/// Preflight checks: called before the first stage with the stages a run will
/// compute; a failure stops the run before any work, facts go into the record.
final class RunPreflightTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = Fixture.temporaryDirectory() }
    override func tearDown() { Fixture.remove(dir) }

    /// Concerns the `add` stages; fails or returns a fact naming what it saw.
    struct AddCheck: RunPreflight {
        let seen: Collected
        let refuse: Bool
        func concerns(kind: String, params: ParamValue) -> Bool { kind == "add" }
        func check(_ stages: [PreflightStage]) throws -> [String: String] {
            for stage in stages { seen.append(stage.id) }
            if refuse { throw PlanError("stage 'c' needs a device this machine lacks") }
            return ["device": "test"]
        }
    }

    private func engine(refuse: Bool, seen: Collected) throws -> Engine {
        var registry = StageRegistry(Fixture.kinds)
        registry.preflights = [AddCheck(seen: seen, refuse: refuse)]
        return try Engine(registry: registry, cacheDirectory: dir.appendingPathComponent("cache"))
    }

    func test_failingPreflight_stopsTheRunBeforeAnyStage() async throws {
        let seen = Collected()
        let engine = try engine(refuse: true, seen: seen)
        do {
            _ = try await engine.run(engine.load(yaml: Fixture.chain))
            XCTFail("the run should have been refused")
        } catch let error as PlanError {
            XCTAssertEqual(error.message, "stage 'c' needs a device this machine lacks")
        }
        XCTAssertEqual(seen.items.sorted(), ["c", "e"])
        XCTAssertThrowsError(try engine.history.find("last"), "no run may be recorded")
        XCTAssertTrue(try engine.plan(engine.load(yaml: Fixture.chain)).allSatisfy { $0.action == .run },
                      "no stage may have run")
    }

    func test_passingPreflight_recordsItsFacts_andIsNotCalledWhenNothingItConcernsRuns() async throws {
        let seen = Collected()
        let engine = try engine(refuse: false, seen: seen)
        let first = try await engine.run(engine.load(yaml: Fixture.chain))
        XCTAssertEqual(first.environment, ["device": "test"])
        XCTAssertEqual(try engine.history.find("last").environment, ["device": "test"])
        let second = try await engine.run(engine.load(yaml: Fixture.chain))
        XCTAssertEqual(second.ranCount, 0)
        XCTAssertNil(second.environment)
        XCTAssertEqual(seen.items.sorted(), ["c", "e"])
        _ = try await engine.run(engine.load(yaml: Fixture.chain), options: RunOptions(until: "b", forceAll: true))
        XCTAssertEqual(seen.items.sorted(), ["c", "e"], "--until b computes no add stage")
    }
}
