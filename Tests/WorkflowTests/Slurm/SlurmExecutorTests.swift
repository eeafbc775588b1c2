import XCTest
@testable import Workflow
@testable import WorkflowSlurm

/// A sharded stage: `shards` memoized parts, each counted when computed.
struct PartsStage: ShardedStage {
    static let kind = "parts"
    static let version = 1
    static let summary = "memoized parts, joined"
    static let inputs: [Workflow.Port] = []
    static let outputs: [Workflow.Port] = [Workflow.Port("out")]
    struct Params: StageParameters {
        var shards: Int = 4
        var factor: Int = 3
    }
    static func shardCount(_ params: Params) -> Int { params.shards }

    func runShard(_ index: Int, _ params: Params, context: StageContext) async throws {
        _ = try part(index, params, context)
    }

    func run(_ params: Params, context: StageContext) async throws {
        let parts = try (0..<params.shards).map { try String(contentsOf: part($0, params, context), encoding: .utf8) }
        try parts.joined(separator: ",").write(to: context.outputURL("out"), atomically: false, encoding: .utf8)
    }

    private func part(_ index: Int, _ params: Params, _ context: StageContext) throws -> URL {
        try context.memo("part-\(index)", ignoring: ["shards"]).get(in: context.scratchDirectory) { url in
            ExecutionCounter.shared.record("\(context.stageID)/part-\(index)")
            try "\(index * params.factor)".write(to: url, atomically: false, encoding: .utf8)
        }
    }
}

final class SlurmExecutorTests: XCTestCase {
    private var dir: URL!
    private var engine: Engine!
    private let yaml = """
        workflow: w
        executor:
          resources: {cpus: 1, time: "10"}
        stages:
          a: {uses: emit, params: {value: 2}}
          p: {uses: parts, params: {shards: 4}, resources: {mem: 2G}}
          e: {uses: add, inputs: {a: a.out}}
        """

    override func setUpWithError() throws {
        ExecutionCounter.shared.reset()
        dir = Fixture.temporaryDirectory()
        engine = try Fixture.engine(dir.appendingPathComponent("cache"), kinds: Fixture.kinds + [PartsStage.self])
    }

    override func tearDown() { Fixture.remove(dir) }

    private func executor() throws -> SlurmExecutor {
        SlurmExecutor(configuration: SlurmConfiguration(try engine.load(yaml: yaml, file: "wf.yaml")),
                      node: SlurmNodeCommand(binary: "/opt/ssmflow", workflowArguments: ["/data/wf.yaml", "--cache-dir", "/shared/cache"]))
    }

    func test_nodeCommand_stageAndShardArguments() {
        let node = SlurmNodeCommand(binary: "/opt/ssmflow", workflowArguments: ["/data/wf.yaml", "--profile", "tiny"])
        XCTAssertEqual(node.arguments(stage: "augment", expectedKey: "abc", shard: true, force: false),
                       ["/opt/ssmflow", "exec-stage", "/data/wf.yaml", "--profile", "tiny", "--stage", "augment",
                        "--no-lock", "--key", "abc", "--shard", SlurmJobRequest.shardToken])
        XCTAssertEqual(node.arguments(stage: "train", expectedKey: nil, shard: false, force: true),
                       ["/opt/ssmflow", "exec-stage", "/data/wf.yaml", "--profile", "tiny", "--stage", "train",
                        "--no-lock", "--force"])
    }

    func test_requests_plainStage_isOneJobAfterItsInputs() throws {
        let workflow = try engine.load(yaml: yaml)
        let requests = try executor().requests(for: workflow.graph["e"]!, key: nil, after: ["a"], store: engine.store,
                                               force: false)
        XCTAssertEqual(requests.map(\.name), ["e"])
        XCTAssertEqual(requests[0].after, ["a"])
        XCTAssertNil(requests[0].arrayTasks)
        XCTAssertEqual(requests[0].resources, JobResources(cpus: 1, time: "10"))
    }

    func test_requests_shardedStageWithUnknownKey_submitsEveryShardThenTheStage() throws {
        let workflow = try engine.load(yaml: yaml)
        let requests = try executor().requests(for: workflow.graph["p"]!, key: nil, after: [], store: engine.store,
                                               force: false)
        XCTAssertEqual(requests.map(\.name), ["p.shards", "p"])
        XCTAssertEqual(requests[0].arrayTasks, [0, 1, 2, 3])
        XCTAssertEqual(requests[1].after, ["p.shards"])
        XCTAssertEqual(requests[0].resources, JobResources(cpus: 1, mem: "2G", time: "10"))
        XCTAssertTrue(requests[0].command.contains(SlurmJobRequest.shardToken))
    }

    func test_requests_finishedShardsAreNotResubmitted() async throws {
        let workflow = try engine.load(yaml: yaml)
        let key = try XCTUnwrap(try engine.plan(workflow).first { $0.stage == "p" }?.key)
        for shard in [0, 2] {
            try await SlurmNode.executeShard(engine: engine, workflow: workflow, stage: "p", shard: shard)
        }
        let requests = try executor().requests(for: workflow.graph["p"]!, key: key, after: [], store: engine.store,
                                               force: false)
        XCTAssertEqual(requests.first?.arrayTasks, [1, 3])
    }

    func test_requests_allShardsDone_submitsOnlyTheStage() async throws {
        let workflow = try engine.load(yaml: yaml)
        let key = try XCTUnwrap(try engine.plan(workflow).first { $0.stage == "p" }?.key)
        for shard in 0..<4 {
            try await SlurmNode.executeShard(engine: engine, workflow: workflow, stage: "p", shard: shard)
        }
        let requests = try executor().requests(for: workflow.graph["p"]!, key: key, after: ["a"], store: engine.store,
                                               force: false)
        XCTAssertEqual(requests.map(\.name), ["p"])
        XCTAssertEqual(requests[0].after, ["a"])
    }

    func test_executeShard_thenRun_assemblesWithoutRecomputing() async throws {
        let workflow = try engine.load(yaml: yaml)
        for shard in 0..<4 {
            try await SlurmNode.executeShard(engine: engine, workflow: workflow, stage: "p", shard: shard)
        }
        // Done shards are skipped by their marker, not recomputed.
        try await SlurmNode.executeShard(engine: engine, workflow: workflow, stage: "p", shard: 1)
        let record = try await engine.executeStage(workflow, stage: "p")
        for shard in 0..<4 { XCTAssertEqual(ExecutionCounter.shared.count("p/part-\(shard)"), 1) }
        let out = engine.store.objectURL(record.outputs["out"]!.digest.hex)
        XCTAssertEqual(try String(contentsOf: out, encoding: .utf8), "0,3,6,9")
    }

    func test_executeShard_outOfRange_namesTheShardCount() async throws {
        let workflow = try engine.load(yaml: yaml)
        do {
            try await SlurmNode.executeShard(engine: engine, workflow: workflow, stage: "p", shard: 4)
            XCTFail("shard 4 of 4 ran")
        } catch {
            XCTAssertEqual("\(error)", "stage 'p' failed: shard 4: stage 'p' has 4 shards (0...3) but shard 4 was asked for; resubmit the workflow")
        }
    }

    func test_executeShard_ofPlainStage_isRefused() async throws {
        let workflow = try engine.load(yaml: yaml)
        do {
            try await SlurmNode.executeShard(engine: engine, workflow: workflow, stage: "a", shard: 0)
            XCTFail("a plain stage ran a shard")
        } catch {
            XCTAssertEqual("\(error)", "stage 'a' failed: shard 0: stage 'a' (kind 'emit') does not split into shards; run it without --shard")
        }
    }
}
