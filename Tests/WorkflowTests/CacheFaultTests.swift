import XCTest
@testable import Workflow

/// Faults of the cache handled in process: damaged entries seen by a dry run,
/// verify without and with repair, gc beside a live run, memo locks, bit rot
/// under a restored mtime, storage errors in words.
final class CacheFaultTests: EngineTestCase {
    private func run(_ yaml: String = Fixture.chain) async throws -> RunRecord {
        try await engine.run(engine.load(yaml: yaml))
    }

    /// Every file of the cache with its bytes, for "nothing changed" checks.
    private func snapshot() throws -> [String: Data] {
        let root = engine.store.root
        var out: [String: Data] = [:]
        for file in try regularFiles(under: root) { out[file] = try Data(contentsOf: root.appendingPathComponent(file)) }
        return out
    }

    private func truncateRecord(of stage: String, in record: RunRecord) throws -> String {
        let key = try XCTUnwrap(record[stage]?.key)
        let url = engine.store.recordURL(key)
        let data = try Data(contentsOf: url)
        try data.prefix(data.count / 2).write(to: url)
        return key
    }

    func test_plan_whenRecordTruncated_reportsIt_changesNothing_andRunSaysWhy() async throws {
        let first = try await run()
        _ = try truncateRecord(of: "c", in: first)
        let before = try snapshot()
        let problems = Collected()
        let plan = try engine.plan(engine.load(yaml: Fixture.chain), onProblem: { problems.append($0) })
        XCTAssertEqual(try snapshot(), before, "the dry run changed the cache")
        let c = try XCTUnwrap(plan.first { $0.stage == "c" })
        XCTAssertEqual(c.action, .run)
        XCTAssertTrue(c.reasons.first?.hasPrefix("record unreadable: c (") == true, "\(c.reasons)")
        XCTAssertTrue(problems.items.first?.hasSuffix("the run recomputes it") == true, "\(problems.items)")
        let second = try await run()
        XCTAssertEqual(second.stages(.ran), ["c"])
        XCTAssertTrue(second["c"]?.reasons.first?.hasPrefix("record unreadable: c (") == true)
    }

    func test_verify_reportsUnreadableRecord_removesItOnlyWithRepair() async throws {
        let first = try await run()
        let key = try truncateRecord(of: "b", in: first)
        let maintenance = CacheMaintenance(store: engine.store)
        let report = maintenance.verify(repair: false)
        XCTAssertEqual(report.problems.count, 1)
        XCTAssertTrue(report.problems[0].description.hasPrefix("record \(key.prefix(12)): unreadable"), report.problems[0].description)
        XCTAssertTrue(FileManager.default.fileExists(atPath: engine.store.recordURL(key).path), "verify without --repair removed it")
        XCTAssertEqual(maintenance.verify(repair: true).problems.count, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: engine.store.recordURL(key).path))
        XCTAssertEqual(maintenance.verify(repair: false).problems.count, 0)
    }

    func test_flippedByte_withRestoredMtime_isFoundByRun_andRefusedByExport() async throws {
        let first = try await run()
        let record = try XCTUnwrap(engine.store.record(try XCTUnwrap(first["c"]?.key)))
        let artifact = try XCTUnwrap(record.outputs["out"])
        let object = engine.store.objectURL(artifact.digest.hex)
        var info = stat()
        XCTAssertEqual(stat(object.path, &info), 0)
        chmod(object.path, 0o644)
        var bytes = try Data(contentsOf: object)
        bytes[0] ^= 0x01
        try bytes.write(to: object)
        var times = [timespec(tv_sec: info.st_atim.tv_sec, tv_nsec: info.st_atim.tv_nsec),
                     timespec(tv_sec: info.st_mtim.tv_sec, tv_nsec: info.st_mtim.tv_nsec)]
        XCTAssertEqual(utimensat(AT_FDCWD, object.path, &times, 0), 0)
        chmod(object.path, 0o444)

        let exportDir = dir.appendingPathComponent("export")
        XCTAssertThrowsError(try CacheMaintenance(store: engine.store).export(artifact, named: "out", to: exportDir)) {
            XCTAssertTrue("\($0)".contains("is corrupt"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: exportDir.appendingPathComponent("out").path), "a corrupt copy was left")
        let second = try await run()
        XCTAssertEqual(second.stages(.ran), ["c"])
        XCTAssertTrue(second["c"]?.reasons.first?.hasPrefix("output corrupt: c.out") == true, "\(second["c"]?.reasons ?? [])")
    }

    func test_gc_besideALiveRun_removesNoRecord_andNoNewObject() async throws {
        let first = try await run()
        // An older result of 'c' that no ref points at any more: gc's usual prey.
        let edited = Fixture.chain.replacingOccurrences(of: "params: {offset: 1}", with: "params: {offset: 5}")
        _ = try await run(edited)
        let oldKey = try XCTUnwrap(first["c"]?.key)
        // A fresh object no record references yet: what a run is about to commit.
        let pending = dir.appendingPathComponent("pending")
        try "pending".write(to: pending, atomically: true, encoding: .utf8)
        let stored = try engine.store.store(pending)

        let lease = try await CacheLease.acquire(engine.store, staleAfter: 5)
        let maintenance = CacheMaintenance(store: engine.store)
        let during = try maintenance.collect(keepLast: 0, dryRun: false, staleAfter: 5)
        XCTAssertEqual(during.liveRuns.count, 1)
        XCTAssertEqual(during.records, [])
        XCTAssertEqual(during.objects, [])
        XCTAssertNotNil(engine.store.record(oldKey))
        XCTAssertTrue(FileManager.default.fileExists(atPath: engine.store.objectURL(stored.digest.hex).path))
        lease.release()

        let after = try maintenance.collect(keepLast: 0, dryRun: false, staleAfter: 5)
        XCTAssertEqual(after.liveRuns, [])
        XCTAssertTrue(after.records.contains(oldKey))
        XCTAssertTrue(after.objects.contains(stored.digest.hex))
    }

    func test_run_waitsForARunningGC() async throws {
        var holder: CacheLock.Holder?
        let gc = try XCTUnwrap(try CacheLock.tryAcquire(key: CacheLease.gcLockKey, in: engine.store.locksDirectory, staleAfter: 5, holder: &holder))
        let workflow = try engine.load(yaml: Fixture.chain)
        let task = Task { try await engine.run(workflow) }
        try await Task.sleep(nanoseconds: 400_000_000)
        XCTAssertEqual(ExecutionCounter.shared.count("a"), 0, "the run started while gc held its lock")
        gc.release()
        let record = try await task.value
        XCTAssertEqual(record.ranCount, 5)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: engine.store.leasesDirectory.path), [], "the lease was not released")
    }

    func test_memoClaim_makesASecondClaimWait_untilReleased() throws {
        let slot = LocalMemoSlot(key: String(repeating: "ab", count: 32), item: "epoch-1", store: engine.store, onProblem: { _ in })
        let first = try slot.claim()
        let acquired = Collected()
        let waiter = Thread {
            if let second = try? slot.claim() { acquired.append("second"); second.release() }
        }
        waiter.start()
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(acquired.items, [], "two claims on one memo at once")
        first.release()
        let deadline = Date().addingTimeInterval(10)
        while acquired.items.isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertEqual(acquired.items, ["second"])
    }

    func test_memoGet_computesOnce_whenTwoAskAtOnce() throws {
        let slot = LocalMemoSlot(key: String(repeating: "cd", count: 32), item: "shard-0", store: engine.store, onProblem: { _ in })
        let made = Collected()
        let scratch = dir.appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let group = DispatchGroup()
        for _ in 0..<2 {
            DispatchQueue.global().async(group: group) {
                _ = try? slot.get(in: scratch) { url in
                    made.append("made")
                    Thread.sleep(forTimeInterval: 0.3)
                    try "x".write(to: url, atomically: true, encoding: .utf8)
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 20), .success)
        XCTAssertEqual(made.items, ["made"])
    }

    func test_storageFault_isToldInWords() {
        let full = NSError(domain: NSCocoaErrorDomain, code: NSFileWriteOutOfSpaceError)
        XCTAssertEqual(StorageFault.classify(full)?.kind, .full)
        XCTAssertEqual(StorageFault.classify(POSIXError(.EDQUOT))?.kind, .quota)
        XCTAssertEqual(StorageFault.classify(NSError(domain: NSCocoaErrorDomain, code: 513))?.kind, .permission)
        XCTAssertEqual(StorageFault.classify(text: "cannot write the data (H5Dwrite: file write failed: errno = 28, error message = 'No space left on device')")?.kind, .full)
        XCTAssertNil(StorageFault.classify(text: "command exited with status 1: Permission denied"))
        let words = StorageFault(kind: .full).message(path: dir, stage: "train")
        XCTAssertTrue(words.hasPrefix("stage 'train' failed: the file system of the cache '\(dir.path)' is full (no space left on device, "), words)
        XCTAssertTrue(words.contains(" free)"), words)
    }

    func test_workflow_notUTF8_givesPositionedError() throws {
        let url = dir.appendingPathComponent("bin.yaml")
        try Data(Array("workflow: x\nstages:\n  a: {uses: emit}\n  \u{e9}".utf8) + [0xFF, 0x20]).write(to: url)
        XCTAssertThrowsError(try WorkflowSpec.load(url)) {
            XCTAssertEqual("\($0)", "\(url.path):4:4: error: the workflow file is not UTF-8 text: byte 0xFF at line 4, column 4 is not valid UTF-8; save the file as UTF-8 (is it a workflow YAML file?)")
        }
    }

    func test_nanParameter_isAParameterError() throws {
        let yaml = "workflow: n\nstages:\n  a: {uses: emit, params: {value: .nan}}\n"
        XCTAssertThrowsError(try engine.load(yaml: yaml, file: "n.yaml")) {
            XCTAssertEqual("\($0)", "n.yaml:3:35: error: parameter 'value' of stage 'a' is nan; a parameter must be a finite number")
        }
    }
}
