import XCTest
@testable import Workflow
import WorkflowTesting

/// The `ssmflow-engine` executable (built next to the test bundle by
/// `swift build --build-tests`): exit codes, and two processes on one cache.
final class CommandLineTests: XCTestCase {
    var dir: URL!

    override func setUp() { dir = Fixture.temporaryDirectory() }
    override func tearDown() { Fixture.remove(dir) }

    private func binary() throws -> URL {
        // The test bundle (an executable on Linux, a .xctest directory on macOS)
        // lies in the build directory next to the products.
        let candidates = [Bundle(for: CommandLineTests.self).bundleURL, Bundle.main.bundleURL,
                          URL(fileURLWithPath: CommandLine.arguments[0])]
            .flatMap { [$0.deletingLastPathComponent(), $0] }
            .map { $0.appendingPathComponent("ssmflow-engine") }
        guard let url = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("ssmflow-engine is not built next to the tests (run 'swift build --build-tests')")
        }
        return url
    }

    private func start(_ arguments: [String]) throws -> (Process, Pipe) {
        try ChildProcess.start(try binary(), arguments, in: dir, environment: ["CI": "1"])
    }

    @discardableResult
    private func ssmflow(_ arguments: String...) throws -> (status: Int32, output: String) {
        let (process, pipe) = try start(arguments)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func write(_ name: String, _ text: String) throws {
        try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func test_exitCodes_areZeroOneAndTwo() throws {
        _ = try binary()
        try write("ok.yaml", "workflow: ok\nstages:\n  a: {uses: noop}\n")
        try write("fails.yaml", "workflow: f\nstages:\n  a: {uses: shell, params: {command: \"exit 4\", outputs: {x: x}}}\n")
        try write("invalid.yaml", "workflow: i\nstages:\n  a: {uses: nope}\n")
        XCTAssertEqual(try ssmflow("run", "ok.yaml").status, 0)
        let failed = try ssmflow("run", "fails.yaml")
        XCTAssertEqual(failed.status, 1)
        XCTAssertTrue(failed.output.contains("error: stage 'a' failed: command exited with status 4: exit 4"), failed.output)
        let invalid = try ssmflow("run", "invalid.yaml")
        XCTAssertEqual(invalid.status, 2)
        XCTAssertTrue(invalid.output.contains("invalid.yaml:3:13: error: unknown stage kind 'nope' in stage 'a'"), invalid.output)
        XCTAssertEqual(try ssmflow("run", "ok.yaml", "--jobs", "0").status, 2)
        XCTAssertEqual(try ssmflow("run", "ok.yaml", "--until", "zz").status, 2)
        XCTAssertEqual(try ssmflow("plan", "ok.yaml", "--json").status, 0)
    }

    func test_twoProcesses_onOneCache_leaveItConsistent() throws {
        var yaml = "workflow: two\nstages:\n"
        for i in 0..<6 {
            yaml += "  s\(i): {uses: shell, params: {command: \"sleep 0.2; echo \(i) > o\", outputs: {o: o}}\(i > 0 ? ", inputs: {prev: s\(i - 1).o}" : "")}\n"
        }
        try write("two.yaml", yaml)
        let one = try start(["run", "two.yaml"]), two = try start(["run", "two.yaml"])
        for (process, pipe) in [one, two] {
            _ = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0)
        }
        let store = try CacheStore(root: dir.appendingPathComponent("cache"))
        XCTAssertEqual(store.allRecordKeys().count, 6)
        let runs = RunHistory(store: store).all()
        XCTAssertEqual(runs.count, 2)
        XCTAssertEqual(runs.map(\.ranCount).reduce(0, +), 6, "each stage computed by exactly one process")
        XCTAssertEqual(CacheMaintenance(store: store).verify(repair: false).problems.count, 0)
        let locks = try FileManager.default.contentsOfDirectory(atPath: store.locksDirectory.path)
        XCTAssertEqual(locks, [])
        XCTAssertTrue(try ssmflow("run", "two.yaml").output.contains("0 ran, 6 cached"))
    }

    func test_processKilledMidStage_leavesNoRecord_andTheNextRunRedoesOnlyThatStage() throws {
        // The marker file is not a declared input: the key stays the same while
        // the second run finishes quickly.
        try write("killed.yaml", """
        workflow: killed
        stages:
          a: {uses: shell, params: {command: "echo a > o", outputs: {o: o}}}
          slow:
            uses: shell
            inputs: {a: a.o}
            params:
              command: "echo partial > o; [ -f \\"$SSMFLOW_WORKFLOW_DIR/finish\\" ] || sleep 30; echo done >> o"
              outputs: {o: o}
        """)
        let (process, _) = try start(["run", "killed.yaml"])
        let store = try CacheStore(root: dir.appendingPathComponent("cache"))
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let locks = (try? FileManager.default.contentsOfDirectory(atPath: store.locksDirectory.path)) ?? []
            if store.allRecordKeys().count == 1, !locks.isEmpty { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 0.3)
        ShellStage.terminateTree(process.processIdentifier)  // the shell and its sleep
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(store.allRecordKeys().count, 1, "only 'a' was committed")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.locksDirectory.path).count, 1,
                       "the killed run left its lock behind")

        try write("finish", "")
        let next = try ssmflow("run", "killed.yaml")
        XCTAssertEqual(next.status, 0, next.output)
        let run = try XCTUnwrap(RunHistory(store: store).all().last)
        XCTAssertEqual(run.stages(.ran), ["slow"])
        XCTAssertEqual(run.stages(.cached), ["a"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.locksDirectory.path), [])
    }

    func test_cacheExportHelp_namesTheLayoutsAndRaw() throws {
        let help = try ssmflow("cache", "export", "--help")
        XCTAssertEqual(help.status, 0, help.output)
        let text = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for phrase in [
            "OVERVIEW: Write a cached artifact out as ordinary files.",
            "an augmentation pool (augment.pool) as the reference's Generated-Images/*.nrrd, Generated-Particles/*.particles, PCA_Particle_Info/ and TotalData.csv;",
            "a cohort (femur-cohort.cohort, shapeworks-femur.cohort, split.train, split.test) as ShapeWorks' femur layout",
            "Any other artifact, or any with --raw, is copied as it is to DIR/OUTPUT.",
            "--raw Copy the cached files as they are, not in the artifact's own layout.",
            "ssmflow cache export augment.pool augmentation/",
        ] {
            XCTAssertTrue(text.contains(phrase), "missing: \(phrase)\n\(help.output)")
        }
    }
}
