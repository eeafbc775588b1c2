import XCTest
@testable import Workflow
@testable import WorkflowSlurm

final class SlurmJobStateTests: XCTestCase {
    func test_parsing_longShortAndSacctSpellings() {
        XCTAssertEqual(SlurmJobState(parsing: "OUT_OF_MEMORY"), .outOfMemory)
        XCTAssertEqual(SlurmJobState(parsing: "OOM"), .outOfMemory)
        XCTAssertEqual(SlurmJobState(parsing: "CANCELLED by 0"), .cancelled)
        XCTAssertEqual(SlurmJobState(parsing: " TO "), .timeout)
        XCTAssertEqual(SlurmJobState(parsing: "PD"), .pending)
        XCTAssertEqual(SlurmJobState(parsing: "SPECIAL_EXIT"), .other("SPECIAL_EXIT"))
    }

    func test_description_isSlurmsSpelling() {
        XCTAssertEqual("\(SlurmJobState.outOfMemory)", "OUT_OF_MEMORY")
        XCTAssertEqual("\(SlurmJobState.nodeFail)", "NODE_FAIL")
    }

    func test_finishedAndSuccessful() {
        XCTAssertTrue(SlurmJobState.timeout.isFinished)
        XCTAssertFalse(SlurmJobState.timeout.isSuccessful)
        XCTAssertFalse(SlurmJobState.completing.isFinished)
        XCTAssertTrue(SlurmJobState.completed.isSuccessful)
    }

    func test_parseQueue_plainJobsAndArrayTasks() {
        let statuses = SlurmClient.parseQueue("""
            8|N/A|TIMEOUT|TimeLimit|vm
            13|2|PENDING|Resources|
            13|0|RUNNING|None|vm

            """)
        XCTAssertEqual(statuses, [
            SlurmTaskStatus(jobID: "8", arrayTask: nil, state: .timeout, reason: "TimeLimit", node: "vm"),
            SlurmTaskStatus(jobID: "13", arrayTask: 2, state: .pending, reason: "Resources", node: ""),
            SlurmTaskStatus(jobID: "13", arrayTask: 0, state: .running, reason: "None", node: "vm"),
        ])
    }

    func test_parseAccounting_skipsStepsAndSplitsArrayIDs() {
        let statuses = SlurmClient.parseAccounting("""
            21_3|OUT_OF_MEMORY|node7
            21_3.batch|OUT_OF_MEMORY|node7
            22|CANCELLED by 0|None assigned
            """)
        XCTAssertEqual(statuses.map(\.displayID), ["21_3", "22"])
        XCTAssertEqual(statuses.map(\.state), [.outOfMemory, .cancelled])
    }

    func test_outcome_failedTasksAreNamedWithTheFirstState() {
        let tasks = [SlurmTaskStatus(jobID: "5", arrayTask: 0, state: .completed),
                     SlurmTaskStatus(jobID: "5", arrayTask: 1, state: .timeout),
                     SlurmTaskStatus(jobID: "5", arrayTask: 2, state: .cancelled, reason: "None")]
        XCTAssertEqual(SlurmMonitor.outcome(tasks), .failed(.timeout, tasks: [1, 2]))
    }

    func test_outcome_scancelledTaskIsAFailureOfThatTask() {
        let tasks = [SlurmTaskStatus(jobID: "5", arrayTask: 0, state: .completed),
                     SlurmTaskStatus(jobID: "5", arrayTask: 3, state: .cancelled, reason: "None")]
        XCTAssertEqual(SlurmMonitor.outcome(tasks), .failed(.cancelled, tasks: [3]))
    }

    func test_outcome_cancelledByDependency() {
        let tasks = [SlurmTaskStatus(jobID: "6", arrayTask: nil, state: .cancelled,
                                     reason: "DependencyNeverSatisfied")]
        XCTAssertEqual(SlurmMonitor.outcome(tasks), .cancelled(reason: "a job it waited for did not complete"))
    }
}
