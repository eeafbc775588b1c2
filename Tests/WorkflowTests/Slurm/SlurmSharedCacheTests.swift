import XCTest
@testable import Workflow
@testable import WorkflowSlurm

/// The cache shared by cluster nodes: stage locks held by other hosts.
final class SlurmSharedCacheTests: XCTestCase {
    private var dir: URL!
    private var locks: URL { dir.appendingPathComponent("locks") }
    private var lockFile: URL { locks.appendingPathComponent("k.lock") }

    override func setUpWithError() throws {
        dir = Fixture.temporaryDirectory()
        try FileManager.default.createDirectory(at: locks, withIntermediateDirectories: true)
    }

    override func tearDown() { Fixture.remove(dir) }

    /// A lock file as another node writes it, with its heartbeat `age` seconds old.
    private func lockHeldElsewhere(pid: Int32 = 999_999, age: TimeInterval) throws {
        let holder = CacheLock.Holder(host: "node-7.cluster", pid: pid, since: Date())
        try CacheStore.encoder.encode(holder).write(to: lockFile)
        let then = Date().addingTimeInterval(-age).timeIntervalSince1970
        var times = [timeval(tv_sec: Int(then), tv_usec: 0), timeval(tv_sec: Int(then), tv_usec: 0)]
        XCTAssertEqual(utimes(lockFile.path, &times), 0)
    }

    private func mtimeAge(_ url: URL) -> TimeInterval {
        var info = stat()
        stat(url.path, &info)
        return Date().timeIntervalSince1970 - Double(info.st_mtim.tv_sec)
    }

    func test_lock_heldByLiveHolderOnAnotherHost_isWaitedFor() async throws {
        // pid 999999 does not exist here, but it is another host's pid: only the heartbeat counts.
        try lockHeldElsewhere(age: 0)
        let waited = Collected()
        let attempt = Task { [locks] in
            try await CacheLock.acquire(key: "k", in: locks, staleAfter: 60, onWait: { waited.append($0.description) })
        }
        try await Task.sleep(nanoseconds: 500_000_000)
        attempt.cancel()
        do {
            let lock = try await attempt.value
            lock.release()
            XCTFail("took a lock whose holder on another host is alive")
        } catch is CancellationError {}
        XCTAssertEqual(waited.items, ["pid 999999 on node-7.cluster"])
        XCTAssertEqual(CacheLock.readHolder(lockFile)?.host, "node-7.cluster")
    }

    func test_lock_heldByAnotherHostWithOldHeartbeat_isBroken() async throws {
        try lockHeldElsewhere(age: 120)
        let lock = try await CacheLock.acquire(key: "k", in: locks, staleAfter: 60)
        defer { lock.release() }
        XCTAssertEqual(CacheLock.readHolder(lockFile)?.host, hostName())
        XCTAssertEqual(CacheLock.readHolder(lockFile)?.pid, getpid())
    }

    func test_lock_holderRefreshesItsHeartbeat() async throws {
        let lock = try await CacheLock.acquire(key: "k", in: locks, staleAfter: 60, heartbeatEvery: 0.1)
        defer { lock.release() }
        let old = Date().addingTimeInterval(-300).timeIntervalSince1970
        var times = [timeval(tv_sec: Int(old), tv_usec: 0), timeval(tv_sec: Int(old), tv_usec: 0)]
        utimes(lockFile.path, &times)
        XCTAssertGreaterThan(mtimeAge(lockFile), 250)
        try await Task.sleep(nanoseconds: 400_000_000)
        XCTAssertLessThan(mtimeAge(lockFile), 5, "a live holder's lock must never look stale to other hosts")
    }

    func test_lock_createdExclusively_secondTakerWaitsUntilRelease() async throws {
        let first = try await CacheLock.acquire(key: "k", in: locks, staleAfter: 60)
        let second = Task { [locks] in try await CacheLock.acquire(key: "k", in: locks, staleAfter: 60) }
        try await Task.sleep(nanoseconds: 300_000_000)
        XCTAssertEqual(CacheLock.readHolder(lockFile)?.pid, getpid())
        first.release()
        let lock = try await second.value
        lock.release()
        XCTAssertFalse(FileManager.default.fileExists(atPath: lockFile.path))
    }
}
