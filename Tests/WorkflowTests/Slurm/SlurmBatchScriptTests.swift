import XCTest
@testable import Workflow
@testable import WorkflowSlurm

final class SlurmBatchScriptTests: XCTestCase {
    private let logs = URL(fileURLWithPath: "/shared/cache/slurm/run-1")

    private func request(array: [Int]? = nil, after: [String] = []) -> SlurmJobRequest {
        SlurmJobRequest(name: array == nil ? "augment" : "augment.shards", stageID: "augment",
                        command: ["/opt/ssmflow", "exec-stage", "--cache-dir", "/shared/my cache", "augment"]
                            + (array == nil ? [] : ["--shard", SlurmJobRequest.shardToken]),
                        resources: JobResources(cpus: 2, mem: "4G"), after: after, arrayTasks: array)
    }

    func test_render_quotesWordsAndExecsCommandAfterSetup() {
        let script = SlurmBatchScript.render(request(), setup: ["module load swift/6.3"])
        XCTAssertEqual(script, """
            #!/bin/bash
            # ssmflow: stage 'augment'
            set -euo pipefail
            module load swift/6.3
            exec /opt/ssmflow exec-stage --cache-dir '/shared/my cache' augment

            """)
    }

    func test_render_arrayTaskIndexReplacesShardToken() {
        let script = SlurmBatchScript.render(request(array: [0, 1]), setup: [])
        XCTAssertTrue(script.hasSuffix("augment --shard \"$SLURM_ARRAY_TASK_ID\"\n"), script)
    }

    func test_arguments_plainJobWithDependencies() {
        let args = SlurmBatchScript.arguments(request(after: ["split"]), logDirectory: logs,
                                              dependencies: ["41", "42"])
        XCTAssertEqual(args, ["--job-name=ssmflow-augment",
                              "--output=/shared/cache/slurm/run-1/augment-%j.log",
                              "--cpus-per-task=2", "--mem=4G",
                              "--dependency=afterok:41:42", "--kill-on-invalid-dep=yes"])
    }

    func test_arguments_arrayUsesArrayLogPatternAndCompressedSpec() {
        let args = SlurmBatchScript.arguments(request(array: [7, 0, 1, 2, 5, 8]), logDirectory: logs,
                                              dependencies: [])
        XCTAssertTrue(args.contains("--output=/shared/cache/slurm/run-1/augment.shards-%A_%a.log"), "\(args)")
        XCTAssertTrue(args.contains("--array=0-2,5,7-8"), "\(args)")
        XCTAssertFalse(args.contains { $0.hasPrefix("--dependency") })
    }

    func test_logFile_matchesTheOutputPattern() {
        let file = SlurmBatchScript.logFile(request(array: [3]), logDirectory: logs, jobID: "17", arrayTask: 3)
        XCTAssertEqual(file.path, "/shared/cache/slurm/run-1/augment.shards-17_3.log")
    }

    func test_arraySpec_singleAndEmpty() {
        XCTAssertEqual(SlurmBatchScript.arraySpec([4]), "4")
        XCTAssertEqual(SlurmBatchScript.arraySpec([3, 3, 2]), "2-3")
        XCTAssertEqual(SlurmBatchScript.arraySpec([]), "")
    }

    func test_shellQuoted_escapesSingleQuotes() {
        XCTAssertEqual(SlurmBatchScript.shellQuoted("it's"), "'it'\\''s'")
        XCTAssertEqual(SlurmBatchScript.shellQuoted(""), "''")
        XCTAssertEqual(SlurmBatchScript.shellQuoted("a=b,c"), "a=b,c")
    }
}
