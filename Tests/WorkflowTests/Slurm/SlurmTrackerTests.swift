import XCTest
@testable import Workflow
@testable import WorkflowSlurm

final class SlurmTrackerTests: XCTestCase {
    private var emptyConfiguration: URL!

    override func setUpWithError() throws {
        emptyConfiguration = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID().uuidString).conf")
        try Data().write(to: emptyConfiguration)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: emptyConfiguration) }

    /// A tracker whose `squeue` always fails at once (an empty configuration;
    /// a missing one would make squeue retry for a minute).
    private func unreachable(patience: TimeInterval) throws -> SlurmTracker {
        guard SlurmClient.isInstalled() else { throw XCTSkip("Slurm's client tools are not installed") }
        let request = SlurmJobRequest(name: "a", stageID: "a", command: ["true"], resources: JobResources())
        let submission = SlurmSubmission(directory: FileManager.default.temporaryDirectory, requests: [request],
                                         jobIDs: ["a": "1"])
        let client = SlurmClient(environment: ["SLURM_CONF": emptyConfiguration.path])
        let monitor = SlurmMonitor(submission: submission, client: client) { _, _ in false }
        return SlurmTracker(monitor: monitor, interval: 0, patience: patience)
    }

    func test_refresh_whenSlurmFailsBriefly_keepsWaiting() async throws {
        let tracker = try unreachable(patience: 600)
        try await tracker.refresh()
        try await tracker.refresh()
        let state = await tracker.state("a")
        XCTAssertNil(state.outcome)
    }

    func test_refresh_whenSlurmFailsBeyondPatience_throwsWithTheRemedy() async throws {
        let tracker = try unreachable(patience: 0)
        do {
            try await tracker.refresh()
            XCTFail("an unreachable Slurm went unnoticed")
        } catch let error as SlurmError {
            XCTAssertTrue(error.message.hasPrefix("Slurm has not answered for 0 s (squeue failed: "), error.message)
            XCTAssertTrue(error.message.hasSuffix("check them with squeue, then run the workflow again to collect their results"))
        }
    }
}
