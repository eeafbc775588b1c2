import XCTest
@testable import Workflow
@testable import WorkflowSlurm

final class SlurmNodeProgressTests: XCTestCase {
    private var dir: URL!
    private var store: CacheStore!

    override func setUpWithError() throws {
        dir = Fixture.temporaryDirectory()
        store = try CacheStore(root: dir.appendingPathComponent("cache"))
    }

    override func tearDown() { Fixture.remove(dir) }

    func test_writer_outsideSlurm_isNil() {
        XCTAssertNil(SlurmNodeProgress.writer(store: store, environment: [:]))
    }

    func test_writer_plainJob_writesUnderTheJobID() throws {
        let write = try XCTUnwrap(SlurmNodeProgress.writer(store: store, environment: ["SLURM_JOB_ID": "41"]))
        write(.progress(stage: "train", done: 3, total: 50, message: "epoch 3"))
        XCTAssertEqual(SlurmNodeProgress.read(store: store, jobID: "41"),
                       SlurmNodeProgress(done: 3, total: 50, message: "epoch 3", host: hostName()))
    }

    func test_writer_arrayTask_writesUnderArrayAndTask() throws {
        let env = ["SLURM_JOB_ID": "57", "SLURM_ARRAY_JOB_ID": "50", "SLURM_ARRAY_TASK_ID": "7"]
        let write = try XCTUnwrap(SlurmNodeProgress.writer(store: store, environment: env))
        write(.progress(stage: "augment", done: 1, total: 2, message: "sample 1"))
        XCTAssertEqual(SlurmNodeProgress.read(store: store, jobID: "50_7")?.done, 1)
        XCTAssertNil(SlurmNodeProgress.read(store: store, jobID: "57"))
    }

    func test_writer_throttlesButAlwaysWritesTheLastStep() throws {
        let write = try XCTUnwrap(SlurmNodeProgress.writer(store: store, interval: 60,
                                                            environment: ["SLURM_JOB_ID": "9"]))
        write(.progress(stage: "s", done: 1, total: 3, message: "one"))
        write(.progress(stage: "s", done: 2, total: 3, message: "two"))
        XCTAssertEqual(SlurmNodeProgress.read(store: store, jobID: "9")?.message, "one")
        write(.progress(stage: "s", done: 3, total: 3, message: "three"))
        XCTAssertEqual(SlurmNodeProgress.read(store: store, jobID: "9")?.message, "three")
    }

    func test_writer_ignoresOtherEvents() throws {
        let write = try XCTUnwrap(SlurmNodeProgress.writer(store: store, environment: ["SLURM_JOB_ID": "9"]))
        write(.log(stage: "s", line: "hello"))
        XCTAssertNil(SlurmNodeProgress.read(store: store, jobID: "9"))
    }

    func test_allocatedCPUs_prefersCPUsPerTaskThenCPUsOnNode() {
        XCTAssertEqual(SlurmNode.allocatedCPUs(environment: ["SLURM_CPUS_PER_TASK": "4", "SLURM_CPUS_ON_NODE": "8"]), 4)
        XCTAssertEqual(SlurmNode.allocatedCPUs(environment: ["SLURM_CPUS_ON_NODE": "2"]), 2)
        XCTAssertNil(SlurmNode.allocatedCPUs(environment: [:]))
    }
}
