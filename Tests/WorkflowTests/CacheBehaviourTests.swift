import XCTest
@testable import Workflow

final class CacheBehaviourTests: EngineTestCase {
    private func run(_ yaml: String = Fixture.chain, options: ResolveOptions = .init(),
                     run runOptions: RunOptions = .init(), engine: Engine? = nil) async throws -> RunRecord {
        let engine = engine ?? self.engine!
        return try await engine.run(engine.load(yaml: yaml, options: options), options: runOptions)
    }

    func test_firstRun_runsEverything_secondRun_hitsEverything() async throws {
        let first = try await run()
        XCTAssertEqual(first.ranCount, 5)
        XCTAssertTrue(first.succeeded)
        let second = try await run()
        XCTAssertEqual(second.cachedCount, 5)
        XCTAssertEqual(second.ranCount, 0)
        XCTAssertEqual(ExecutionCounter.shared.count("e"), 1)
    }

    func test_run_whenParamChanged_rerunsDownstreamClosureOnly() async throws {
        _ = try await run()
        let edited = Fixture.chain.replacingOccurrences(of: "params: {offset: 1}", with: "params: {offset: 5}")
        let second = try await run(edited)
        XCTAssertEqual(second.stages(.ran), ["c", "e"])
        XCTAssertEqual(second.stages(.cached), ["a", "b", "d"])
        XCTAssertEqual(second["c"]?.reasons, ["params changed: c.offset 1 → 5"])
        XCTAssertEqual(second["e"]?.reasons, ["input changed: c.out"])
    }

    func test_run_whenOutputUnchanged_cutsOffEarly() async throws {
        _ = try await run()
        // base 2 → 4: 'a' reruns, but its parity is still 0, so 'c' and 'e' stay cached.
        let second = try await run(options: ResolveOptions(overrides: ["params.base=4"]))
        XCTAssertEqual(second.stages(.ran), ["a", "b"])
        XCTAssertEqual(second.stages(.cached), ["c", "d", "e"])
        XCTAssertEqual(ExecutionCounter.shared.count("c"), 1)
    }

    func test_run_whenOnlyCommentsKeyOrderOrNumberFormatChange_rerunsNothing() async throws {
        _ = try await run()
        let rewritten = """
        # the same workflow, written differently
        workflow: chain
        stages:
          d: {params: {value: 7}, uses: emit}   # moved first
          a:
            params: {rate: 1e-4, value: "${params.base}"}
            uses: emit
          b: {inputs: {x: a.out}, uses: parity}
          c: {inputs: {a: b.out}, params: {offset: 1.0}, uses: add}
          e: {inputs: {b: d.out, a: c.out}, uses: add}
        params: {base: 2}
        """
        let second = try await run(rewritten)
        XCTAssertEqual(second.ranCount, 0)
        XCTAssertEqual(second.cachedCount, 5)
    }

    func test_run_whenStageVersionBumped_rerunsItAndDependants() async throws {
        _ = try await run()
        let bumped = try Fixture.engine(dir.appendingPathComponent("cache"),
                                        kinds: [EmitStageV2.self, ParityStage.self, AddStage.self])
        let second = try await run(engine: bumped)
        XCTAssertEqual(second.stages(.ran), ["a", "d"])
        XCTAssertEqual(second["a"]?.reasons, ["stage code version 1 → 2"])
        // Same bytes out of the new code: the early cutoff keeps the rest cached.
        XCTAssertEqual(second.stages(.cached), ["b", "c", "e"])
    }

    func test_run_whenObjectCorrupt_detectsRemovesAndRecomputes() async throws {
        let first = try await run()
        let record = try XCTUnwrap(engine.store.record(try XCTUnwrap(first["c"]?.key)))
        let object = engine.store.objectURL(try XCTUnwrap(record.outputs["out"]).digest.hex)
        chmod(object.path, 0o644)
        try "9".write(to: object, atomically: false, encoding: .utf8)
        let warnings = Collected()
        let second = try await engine.run(engine.load(yaml: Fixture.chain)) { event in
            if case .warning(let w) = event { warnings.append(w) }
        }
        XCTAssertEqual(second.stages(.ran), ["c"])
        XCTAssertEqual(second["c"]?.reasons.first?.hasPrefix("output corrupt: c.out (digest"), true)
        XCTAssertEqual(warnings.items.count, 1)
        XCTAssertEqual(try String(contentsOf: object, encoding: .utf8), "1")
    }

    func test_run_whenObjectMissing_recomputesOnlyThatStage() async throws {
        let first = try await run()
        let record = try XCTUnwrap(engine.store.record(try XCTUnwrap(first["e"]?.key)))
        engine.store.removeObject(try XCTUnwrap(record.outputs["table"]).digest.hex)
        let second = try await run()
        XCTAssertEqual(second.stages(.ran), ["e"])
        XCTAssertEqual(second["e"]?.reasons, ["output missing: e.table"])
    }

    func test_run_whenStageKilledMidWrite_leavesNoRecord_andNextRunRedoesOnlyIt() async throws {
        let yaml = """
        workflow: hang
        stages:
          a: {uses: emit, params: {value: 3}}
          h: {uses: hang, inputs: {x: a.out}}
        """
        let workflow = try engine.load(yaml: yaml)
        let task = Task { try await engine.run(workflow) }
        let deadline = Date().addingTimeInterval(30)
        while ExecutionCounter.shared.count("h") == 0 {
            guard Date() < deadline else { task.cancel(); return XCTFail("stage 'h' did not start within 30 s") }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        task.cancel()
        let interrupted = try await task.value
        XCTAssertEqual(interrupted["h"]?.outcome, .cancelled)
        XCTAssertEqual(interrupted["a"]?.outcome, .ran)
        XCTAssertEqual(engine.store.allRecordKeys().count, 1, "only 'a' is committed")

        let finishing = yaml.replacingOccurrences(of: "h: {uses: hang, inputs: {x: a.out}}", with: "h: {uses: hang, inputs: {x: a.out}, params: {hang: false}}")
        let next = try await run(finishing)
        XCTAssertEqual(next.stages(.ran), ["h"])
        XCTAssertEqual(next.stages(.cached), ["a"])
    }

    func test_run_whenStageFails_skipsDependants_andKeepsTheRestCached() async throws {
        let failing = Fixture.chain.replacingOccurrences(of: "params: {offset: 1}", with: "params: {offset: 1, fail: true}")
        let first = try await run(failing)
        XCTAssertEqual(first["c"]?.outcome, .failed)
        XCTAssertEqual(first["c"]?.error, "asked to fail")
        XCTAssertEqual(first["e"]?.outcome, .skipped)
        XCTAssertFalse(first.succeeded)
        let second = try await run()
        XCTAssertEqual(second.stages(.ran), ["c", "e"])
    }

    func test_memo_whenSampleCountRaised_computesOnlyNewItems() async throws {
        let yaml = "workflow: m\nstages:\n  s: {uses: samples, params: {num_samples: 3}}\n"
        _ = try await run(yaml)
        XCTAssertEqual(ExecutionCounter.shared.count("s/sample"), 3)
        let more = try await run(yaml.replacingOccurrences(of: "num_samples: 3", with: "num_samples: 5"))
        XCTAssertEqual(more.stages(.ran), ["s"])
        XCTAssertEqual(ExecutionCounter.shared.count("s/sample"), 5)
        // A parameter that is not ignored gives new memo keys.
        _ = try await run(yaml.replacingOccurrences(of: "num_samples: 3", with: "num_samples: 2, seed: 3"))
        XCTAssertEqual(ExecutionCounter.shared.count("s/sample"), 7)
    }

    func test_memo_whenRecordUnreadable_isReportedAndRecomputed() async throws {
        let yaml = "workflow: m\nstages:\n  s: {uses: samples, params: {num_samples: 2}}\n"
        _ = try await run(yaml)
        let memoDir = engine.store.root.appendingPathComponent("memo")
        let files = FileManager.default.enumerator(at: memoDir, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "json" }
        XCTAssertEqual(files.count, 2)
        try Data("{ not json".utf8).write(to: files[0])
        let workflow = try engine.load(yaml: yaml.replacingOccurrences(of: "num_samples: 2", with: "num_samples: 3"))
        let lines = LineCollector()
        let record = try await engine.run(workflow, observer: { event in
            if case let .log(_, line) = event { lines.append(line) }
        })
        XCTAssertTrue(record.succeeded)
        XCTAssertEqual(ExecutionCounter.shared.count("s/sample"), 4, "the unreadable item and the new one are computed")
        XCTAssertTrue(lines.all.contains { $0.contains("memo record") && $0.contains("unreadable") }, "\(lines.all)")
    }

    func test_concurrentRuns_onOneCache_computeEachStageOnce() async throws {
        let other = try Fixture.engine(dir.appendingPathComponent("cache"))
        let w1 = try engine.load(yaml: Fixture.chain), w2 = try other.load(yaml: Fixture.chain)
        async let r1 = engine.run(w1, options: RunOptions(jobs: 2))
        async let r2 = other.run(w2, options: RunOptions(jobs: 2))
        let (one, two) = try await (r1, r2)
        XCTAssertTrue(one.succeeded && two.succeeded)
        for id in ["a", "b", "c", "d", "e"] {
            XCTAssertEqual(ExecutionCounter.shared.count(id), 1, "stage \(id) computed once")
            XCTAssertEqual(one[id]?.key, two[id]?.key)
        }
        XCTAssertEqual(one.ranCount + two.ranCount, 5)
        XCTAssertEqual(engine.store.allRecordKeys().count, 5)
        let third = try await run()
        XCTAssertEqual(third.cachedCount, 5)
    }

    func test_lock_whenHolderIsDeadProcess_isBroken() async throws {
        let locks = engine.store.locksDirectory
        let url = locks.appendingPathComponent("k.lock")
        let dead = CacheLock.Holder(host: hostName(), pid: 999_999, since: Date())
        try CacheStore.encoder.encode(dead).write(to: url)
        let lock = try await CacheLock.acquire(key: "k", in: locks, staleAfter: 60)
        XCTAssertEqual(CacheLock.readHolder(url)?.pid, getpid())
        lock.release()
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }
}

/// Lines an observer saw, from several tasks at once.
final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
