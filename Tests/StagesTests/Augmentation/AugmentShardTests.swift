import XCTest
@testable import Stages
@testable import Workflow

/// `augment` as a `ShardedStage`: each shard of generated samples is one Slurm
/// array task, filling the memo slot that the stage's own run then reuses.
final class AugmentShardTests: XCTestCase {
    private let params = "num_samples: 10, shard_size: 4, num_dim: 3, plots: false"

    private func augmentParams(_ text: String) throws -> Augment.Params {
        let harness = try AugmentHarness()
        let stage = try XCTUnwrap(harness.engine.load(yaml: AugmentHarness.workflow(text)).graph["augment"])
        return try stage.params.decode(Augment.Params.self)
    }

    func test_shardCount_isNumSamplesOverShardSizeRoundedUp() throws {
        XCTAssertEqual(Augment.shardCount(try augmentParams(params)), 3)
        XCTAssertEqual(Augment.shards(try augmentParams(params)).map(\.item), ["shard-1-4", "shard-5-4", "shard-9-2"])
        XCTAssertEqual(Augment.shardCount(try augmentParams("num_samples: 8, shard_size: 4")), 2)
        XCTAssertEqual(Augment.shardCount(try augmentParams("num_samples: 8, shard_size: 32")), 1)
        XCTAssertEqual(Augment.shardCount(try augmentParams("num_samples: 0")), 0)
        XCTAssertEqual(Augment.shardCount(Augment.Params()), 155, "4960 samples in shards of 32")
    }

    func test_stageKind_reportsTheShardCountToTheExecutor() throws {
        let harness = try AugmentHarness()
        let stage = try XCTUnwrap(harness.engine.load(yaml: AugmentHarness.workflow(params)).graph["augment"])
        XCTAssertEqual(stage.kind.shardCount(params: stage.params), 3)
    }

    func test_shardRunAlone_fillsTheSlotThatTheStageRunReuses() async throws {
        let harness = try AugmentHarness()
        let workflow = try harness.engine.load(yaml: AugmentHarness.workflow(params))
        let upstream = try await harness.engine.run(workflow, options: RunOptions(until: "cohort"))
        XCTAssertTrue(upstream.succeeded)
        _ = try await harness.engine.executeShard(workflow, stage: "augment", shard: 1)

        let (record, outputs) = try await harness.run(params)
        // Shard 1 holds samples 5–8: exactly those four were found memoized.
        XCTAssertEqual(record["augment"]?.metrics["samples_reused"], 4)

        // The assembled pool is byte for byte what a run with no shard beforehand makes.
        let other = try AugmentHarness()
        let (_, fresh) = try await other.run(params)
        for name in ["shard-00000.h5", "shard-00001.h5", "shard-00002.h5", "index.json"] {
            let file = { (o: [String: URL]) in try Data(contentsOf: XCTUnwrap(o["pool"]).appendingPathComponent(name)) }
            XCTAssertEqual(try file(outputs), try file(fresh), name)
        }
    }

    func test_everyShardRunAlone_leavesTheStageRunOnlyAssembling() async throws {
        let harness = try AugmentHarness()
        let workflow = try harness.engine.load(yaml: AugmentHarness.workflow(params))
        _ = try await harness.engine.run(workflow, options: RunOptions(until: "cohort"))
        for shard in 0..<3 {
            _ = try await harness.engine.executeShard(workflow, stage: "augment", shard: shard)
        }
        let (record, _) = try await harness.run(params)
        XCTAssertEqual(record["augment"]?.metrics["samples_reused"], 10)
    }

    func test_shardOutOfRange_namesTheShardCount() async throws {
        let harness = try AugmentHarness()
        let workflow = try harness.engine.load(yaml: AugmentHarness.workflow(params))
        _ = try await harness.engine.run(workflow, options: RunOptions(until: "cohort"))
        do {
            _ = try await harness.engine.executeShard(workflow, stage: "augment", shard: 3)
            XCTFail("shard 3 of 3 ran")
        } catch {
            XCTAssertEqual("\(error)", "stage 'augment' failed: shard 3: stage 'augment' has 3 shards (0...2) but shard 3 was asked for; resubmit the workflow")
        }
    }
}
