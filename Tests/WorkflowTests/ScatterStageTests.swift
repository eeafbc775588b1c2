import XCTest
@testable import Workflow

final class ScatterStageTests: XCTestCase {
    private var dir: URL!
    private var engine: Engine!

    override func setUpWithError() throws {
        dir = Fixture.temporaryDirectory()
        engine = try Fixture.engine(dir.appendingPathComponent("cache"))
    }

    override func tearDown() { Fixture.remove(dir) }

    /// Each shard writes its index squared and appends a line to `runs.txt`
    /// (outside the cache), so tests can count what actually ran.
    private func workflow(shards: Int) -> String {
        """
        workflow: scatter
        stages:
          squares:
            uses: scatter
            params:
              shards: \(shards)
              command: echo $((SSMFLOW_SHARD * SSMFLOW_SHARD)) > "$SSMFLOW_SHARD_OUTPUT/value.txt"; echo "$SSMFLOW_SHARD" >> '\(dir.path)/runs.txt'
        """
    }

    private func runs() -> [String] {
        ((try? String(contentsOf: dir.appendingPathComponent("runs.txt"), encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }

    private func shardValues(_ record: RunRecord) throws -> [String] {
        let key = try XCTUnwrap(record["squares"]?.key)
        let out = engine.store.objectURL(try XCTUnwrap(engine.store.record(key)?.outputs["shards"]).digest.hex)
        return try FileManager.default.contentsOfDirectory(atPath: out.path).sorted().map {
            try String(contentsOf: out.appendingPathComponent("\($0)/value.txt"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    func test_run_writesOneDirectoryPerShardInOrder() async throws {
        let record = try await engine.run(engine.load(yaml: workflow(shards: 4)))
        XCTAssertEqual(try shardValues(record), ["0", "1", "4", "9"])
        XCTAssertEqual(runs().sorted(), ["0", "1", "2", "3"])
    }

    func test_run_whenShardCountRaised_computesOnlyNewShards() async throws {
        _ = try await engine.run(engine.load(yaml: workflow(shards: 2)))
        let record = try await engine.run(engine.load(yaml: workflow(shards: 3)))
        XCTAssertEqual(try shardValues(record), ["0", "1", "4"])
        XCTAssertEqual(runs(), ["0", "1", "2"])
    }

    func test_run_whenCommandFails_namesTheShard() async throws {
        let yaml = workflow(shards: 2).replacingOccurrences(of: "echo $((SSMFLOW_SHARD", with: "test $SSMFLOW_SHARD = 0 || exit 3; echo $((SSMFLOW_SHARD")
        let record = try await engine.run(engine.load(yaml: yaml))
        XCTAssertEqual(record["squares"]?.outcome, .failed)
        XCTAssertTrue(record["squares"]?.error?.hasPrefix("shard 1: command exited with status 3") ?? false,
                      record["squares"]?.error ?? "")
    }

    func test_shardCount_isTheShardsParameter() throws {
        let workflow = try engine.load(yaml: self.workflow(shards: 5))
        let stage = try XCTUnwrap(workflow.graph["squares"])
        XCTAssertEqual(stage.kind.shardCount(params: stage.params), 5)
        XCTAssertNil(StageKind(ShellStage.self).shardCount(params: stage.params), "shell has no shards")
    }
}
