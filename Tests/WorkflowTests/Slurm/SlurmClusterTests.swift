import XCTest
@testable import Workflow
@testable import WorkflowSlurm

/// Against a real Slurm: runs when `SSMFLOW_TEST_SLURM=1` and `SLURM_CONF` name
/// a cluster that answers (scripts/test-slurm.sh brings one up and sets both),
/// skipped otherwise, so a developer's own cluster never receives test jobs.
final class SlurmClusterTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["SSMFLOW_TEST_SLURM"] == "1", env["SLURM_CONF"] != nil, SlurmClient.isInstalled(),
              (try? SlurmClient().run("sinfo", ["--noheader"]).status) == 0 else {
            throw XCTSkip("no Slurm cluster answers (scripts/test-slurm.sh starts one)")
        }
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("slurm-tests-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    private func shell(_ name: String, _ script: String, after: [String] = [],
                       array: [Int]? = nil) -> SlurmJobRequest {
        SlurmJobRequest(name: name, stageID: name, command: ["/bin/sh", "-c", script, "sh"] + (array == nil ? [] : [SlurmJobRequest.shardToken]),
                        resources: JobResources(cpus: 1, time: "5"), after: after, arrayTasks: array)
    }

    private func runToEnd(_ requests: [SlurmJobRequest]) async throws -> (SlurmSubmission, [String: SlurmJobOutcome]) {
        let submission = try SlurmSubmission.submit(requests, into: directory, setup: ["export GREETING=hello"],
                                                    client: SlurmClient())
        let monitor = SlurmMonitor(submission: submission, client: SlurmClient()) { _, _ in false }
        return (submission, try await monitor.wait(every: 0.5))
    }

    func test_submit_dependentJobsAndArrayComplete() async throws {
        let (submission, outcomes) = try await runToEnd([
            shell("first", "echo $GREETING from first"),
            shell("shards", "echo shard $1", after: ["first"], array: [0, 2, 3]),
            shell("last", "echo last", after: ["shards"]),
        ])
        XCTAssertEqual(outcomes, ["first": .completed, "shards": .completed, "last": .completed])
        XCTAssertEqual(submission.logTail("first")?.1, "hello from first")
        XCTAssertEqual(submission.logTail("shards", arrayTask: 2)?.1, "shard 2")
        XCTAssertNil(submission.logTail("shards", arrayTask: 1), "task 1 was not submitted")
    }

    func test_monitor_failedArrayTaskIsNamedAndDependantCancelled() async throws {
        let (submission, outcomes) = try await runToEnd([
            shell("shards", "echo boom $1 >&2; [ $1 != 1 ]", array: [0, 1, 2]),
            shell("assemble", "echo never", after: ["shards"]),
        ])
        XCTAssertEqual(outcomes["shards"], .failed(.failed, tasks: [1]))
        XCTAssertEqual(outcomes["assemble"], .cancelled(reason: "a job it waited for did not complete"))
        XCTAssertEqual(submission.logTail("shards", arrayTask: 1)?.1, "boom 1")
    }

    func test_submit_refusedRequestCancelsWhatWasSubmitted() throws {
        var bad = shell("second", "true", after: ["first"])
        bad.resources.partition = "no-such-partition"
        XCTAssertThrowsError(try SlurmSubmission.submit([shell("first", "sleep 30"), bad], into: directory,
                                                        setup: [], client: SlurmClient())) { error in
            XCTAssertTrue("\(error)".hasPrefix("sbatch refused second.sh: "), "\(error)")
        }
        let jobs = try JSONDecoder().decode([String: String].self,
                                            from: Data(contentsOf: directory.appendingPathComponent("jobs.json")))
        let state = try SlurmClient().queue(jobIDs: [jobs["first"]!]).first?.state
        XCTAssertTrue(state == .cancelled || state == .completing, "\(String(describing: state))")
    }
}
