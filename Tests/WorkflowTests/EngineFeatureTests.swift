import XCTest
@testable import Workflow

/// The shell kind, plan reasons, single-stage execution, hooks and maintenance.
final class EngineFeatureTests: EngineTestCase {
    private func shellWorkflow() throws -> String {
        try "print-scale 3\n".write(to: dir.appendingPathComponent("config.txt"), atomically: true, encoding: .utf8)
        return """
        workflow: sh
        stages:
          gen:
            uses: shell
            params:
              command: "seq 4 > numbers.txt"
              outputs: {numbers: numbers.txt}
          total:
            uses: shell
            inputs: {numbers: gen.numbers}
            params:
              command: "awk '{s+=$1} END {print s}' \\"$SSMFLOW_INPUT_NUMBERS\\" > \\"$SSMFLOW_OUTPUT_TOTAL\\"; cat \\"$SSMFLOW_WORKFLOW_DIR/config.txt\\""
              files: [config.txt]
              outputs: {total: total.txt}
        """
    }

    func test_shellStage_capturesOutputs_andHashesItsFiles() async throws {
        let yaml = try shellWorkflow()
        let first = try await engine.run(engine.load(yaml: yaml, directory: dir))
        XCTAssertEqual(first.stages(.ran), ["gen", "total"], "\(first.stages.map { $0.error ?? "" })")
        let record = try XCTUnwrap(engine.store.record(try XCTUnwrap(first["total"]?.key)))
        let total = engine.store.objectURL(try XCTUnwrap(record.outputs["total"]).digest.hex)
        XCTAssertEqual(try String(contentsOf: total, encoding: .utf8), "10\n")
        XCTAssertEqual(record.log, ["print-scale 3"])

        try "print-scale 4\n".write(to: dir.appendingPathComponent("config.txt"), atomically: true, encoding: .utf8)
        let second = try await engine.run(engine.load(yaml: yaml, directory: dir))
        XCTAssertEqual(second.stages(.ran), ["total"])
        XCTAssertEqual(second["total"]?.reasons, ["file changed: config.txt"])
    }

    func test_shellStage_whenCommandFails_reportsStatusAndOutput() async throws {
        let yaml = "workflow: f\nstages:\n  a: {uses: shell, params: {command: \"echo broken; exit 3\", outputs: {x: x}}}\n"
        let run = try await engine.run(engine.load(yaml: yaml))
        XCTAssertEqual(run["a"]?.outcome, .failed)
        XCTAssertEqual(run["a"]?.error, "command exited with status 3: echo broken; exit 3\n  broken")
    }

    func test_shellStage_whenCancelled_stopsTheCommandAndItsChildren() async throws {
        let yaml = "workflow: c\nstages:\n  a: {uses: shell, params: {command: \"sleep 20; echo late\", outputs: {x: x}}}\n"
        let workflow = try engine.load(yaml: yaml)
        let started = Collected()
        let begin = Date()
        let task = Task { try await engine.run(workflow) { if case .started = $0 { started.append("a") } } }
        let deadline = Date().addingTimeInterval(30)
        while started.items.isEmpty {
            guard Date() < deadline else { task.cancel(); return XCTFail("stage 'a' did not start within 30 s") }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        try await Task.sleep(nanoseconds: 200_000_000)
        task.cancel()
        let run = try await task.value
        XCTAssertEqual(run["a"]?.outcome, .cancelled)
        XCTAssertLessThan(Date().timeIntervalSince(begin), 10, "the sleep was not left running")
        XCTAssertEqual(engine.store.allRecordKeys(), [])
    }

    func test_plan_givesReasonsInValues() throws {
        _ = try XCTUnwrap(try? engine.plan(engine.load(yaml: Fixture.chain)))
        let wf = try engine.load(yaml: Fixture.chain)
        XCTAssertEqual(try engine.plan(wf).map(\.reasons), Array(repeating: ["never run"], count: 5))
        let expectation = expectation(description: "run")
        Task {
            _ = try await engine.run(wf)
            expectation.fulfill()
        }
        wait(for: [expectation], timeout: 30)
        let edited = try engine.load(yaml: Fixture.chain, options: ResolveOptions(overrides: ["a.value=5"]))
        let plan = try engine.plan(edited)
        XCTAssertEqual(plan.map(\.action), [.run, .run, .run, .cached, .run])
        XCTAssertEqual(plan[0].reasons, ["params changed: a.value 2 → 5"])
        XCTAssertEqual(plan[1].reasons, ["upstream 'a' reruns"])
        let forced = try engine.plan(wf, options: RunOptions(force: ["d"]))
        XCTAssertEqual(forced.first { $0.stage == "d" }?.reasons, ["forced"])
        XCTAssertEqual(forced.first { $0.stage == "e" }?.reasons, ["upstream 'd' reruns"])
        let until = try engine.plan(wf, options: RunOptions(until: "b"))
        XCTAssertEqual(until.map(\.action), [.cached, .cached, .skip, .skip, .skip])
    }

    func test_plan_whenOnlyStageReadsUncachedInput_isRefused() throws {
        let wf = try engine.load(yaml: Fixture.chain)
        XCTAssertThrowsError(try engine.plan(wf, options: RunOptions(only: "b"))) { error in
            XCTAssertEqual((error as? PlanError)?.message,
                           "--only b reads from stage 'a', which is not cached (never run); run with --until b instead")
        }
    }

    func test_executeStage_runsOneStageAgainstTheCache() async throws {
        let wf = try engine.load(yaml: Fixture.chain)
        _ = try await engine.run(wf, options: RunOptions(until: "b"))
        let (manifest, _) = try engine.currentManifest(wf, stage: "c")
        let record = try await engine.executeStage(wf, stage: "c", expectedKey: try XCTUnwrap(manifest).key)
        XCTAssertEqual(record.stage, "c")
        let run = try await engine.run(wf)
        XCTAssertEqual(run.stages(.ran), ["d", "e"])
        XCTAssertEqual(run["c"]?.outcome, .cached)
    }

    func test_finisher_receivesTheRunAndArtifacts() async throws {
        struct Report: RunFinisher {
            func finish(run: RunRecord, artifacts: [ArtifactAddress: URL], runDirectory: URL) throws -> [String] {
                let sum = try String(contentsOf: artifacts[ArtifactAddress(stage: "e", output: "out")]!, encoding: .utf8)
                try "sum \(sum)".write(to: runDirectory.appendingPathComponent("report.txt"), atomically: true, encoding: .utf8)
                return ["report: sum \(sum), \(run.ranCount) ran"]
            }
        }
        var registry = StageRegistry(Fixture.kinds)
        registry.finishers = [Report()]
        let engine = try Engine(registry: registry, cacheDirectory: dir.appendingPathComponent("cache"))
        let notes = Collected()
        let run = try await engine.run(engine.load(yaml: Fixture.chain)) { event in
            if case .note(let line) = event { notes.append(line) }
        }
        XCTAssertEqual(notes.items, ["report: sum 8, 5 ran"])
        let report = engine.history.directory(of: run.id).appendingPathComponent("report.txt")
        XCTAssertEqual(try String(contentsOf: report, encoding: .utf8), "sum 8")
        XCTAssertEqual(try engine.history.find("last").id, run.id)
    }

    func test_runRecord_keepsParamsAndMetrics() async throws {
        _ = try await engine.run(engine.load(yaml: Fixture.chain))
        _ = try await engine.run(engine.load(yaml: Fixture.chain, options: ResolveOptions(overrides: ["c.offset=3"])))
        let a = try engine.history.find("last~1"), b = try engine.history.find("last")
        XCTAssertEqual(a["e"]?.metrics["sum"], 8)
        XCTAssertEqual(b["e"]?.metrics["sum"], 10)
        XCTAssertEqual(b.params["c"]?.members["offset"], .int(3))
        XCTAssertEqual(b.overrides, ["c.offset=3"])
    }

    func test_verify_findsCorruptObjects_andGCRemovesUnreferencedOnes() async throws {
        let first = try await engine.run(engine.load(yaml: Fixture.chain))
        _ = try await engine.run(engine.load(yaml: Fixture.chain, options: ResolveOptions(overrides: ["d.value=9"])))
        let maintenance = CacheMaintenance(store: engine.store)
        XCTAssertEqual(maintenance.verify(repair: false).problems.count, 0)
        let record = try XCTUnwrap(engine.store.record(try XCTUnwrap(first["d"]?.key)))
        let object = engine.store.objectURL(record.outputs["out"]!.digest.hex)
        chmod(object.path, 0o644)
        try "x".write(to: object, atomically: false, encoding: .utf8)
        let found = maintenance.verify(repair: true)
        XCTAssertEqual(found.problems.map(\.stage), ["d"])
        XCTAssertNil(engine.store.record(record.key))
        // The first run's 'd' and 'e' records are superseded: gc with keep-last 1 drops 'e''s.
        let gc = try maintenance.collect(keepLast: 1, dryRun: false)
        XCTAssertEqual(gc.records, [try XCTUnwrap(first["e"]?.key)])
        XCTAssertEqual(maintenance.verify(repair: false).problems.count, 0)
    }

    func test_plainInspector_describesFilesAndDirectories() async throws {
        let run = try await engine.run(engine.load(yaml: Fixture.chain))
        let record = try XCTUnwrap(engine.store.record(try XCTUnwrap(run["e"]?.key)))
        let inspector = PlainArtifactInspector()
        XCTAssertEqual(try inspector.summary(of: engine.store.objectURL(record.outputs["out"]!.digest.hex)), ["text, 1 B"])
        XCTAssertEqual(try inspector.summary(of: engine.store.objectURL(record.outputs["table"]!.digest.hex)),
                       ["directory, 1 files, 6 B", "  sum.csv  6 B  text"])
    }

    func test_artifactDigest_ofDirectory_dependsOnContentNotListingOrder() throws {
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        for (root, order) in [(a, ["x", "y/z"]), (b, ["y/z", "x"])] {
            for name in order {
                let url = root.appendingPathComponent(name)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try name.write(to: url, atomically: true, encoding: .utf8)
            }
        }
        XCTAssertEqual(try ArtifactDigest.of(a), try ArtifactDigest.of(b))
        try "changed".write(to: b.appendingPathComponent("x"), atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try ArtifactDigest.of(a).hex, try ArtifactDigest.of(b).hex)
        // SHA-256 of "file\0" + "abc", checked with an independent tool (sha256sum).
        let f = dir.appendingPathComponent("f")
        try "abc".write(to: f, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ArtifactDigest.of(f).hex, "40eb29fe4dafad4ea73cb8aebd0e3068407b0faeabd04394dccde1e4f5cf329c")
    }
}
