import Foundation

/// A live run's claim on a cache, which `cache gc` honours.
///
/// Every run (and every `exec-stage` on a cluster node) holds a lease for as
/// long as it works: a file in `leases/` with its host, pid and start time,
/// whose mtime is a heartbeat (see `CacheLock`). `cache gc` holds `locks/gc.lock`
/// while it collects. The rule, which keeps both safe on one host and across
/// hosts sharing the cache:
///
/// - a run creates its lease first, then waits while a live gc holds its lock;
/// - gc takes its lock first, then reads the leases. With no live lease it
///   collects everything unkept; with a live lease it removes no record and no
///   memo, and only objects that no record or memo references and that are
///   older than the oldest live lease (minus the stale period, for clocks that
///   differ between hosts), and work directories of dead processes of its host.
///
/// So gc never removes what a live run has read (records are kept), is writing
/// (its objects and work directory are newer than its lease) or has committed
/// (records again); and a run that starts during a gc waits for it to end.
public final class CacheLease: @unchecked Sendable {
    private let lock: CacheLock

    private init(lock: CacheLock) { self.lock = lock }

    /// Takes a lease on `store`, then waits while a live gc runs.
    public static func acquire(_ store: CacheStore, staleAfter: TimeInterval = 60) async throws -> CacheLease {
        let name = "run-\(safeName(hostName()))-\(getpid())-\(UUID().uuidString.prefix(8))"
        let lock = try await CacheLock.acquire(key: name, in: store.leasesDirectory, staleAfter: staleAfter)
        let lease = CacheLease(lock: lock)
        let gc = store.locksDirectory.appendingPathComponent("\(gcLockKey).lock")
        do {
            while let holder = CacheLock.readHolder(gc), !CacheLock.isStale(gc, holder: holder, staleAfter: staleAfter) {
                try Task.checkCancellation()
                try await Task.sleep(nanoseconds: 100_000_000)
            }
        } catch {
            lease.release()
            throw error
        }
        return lease
    }

    /// Ends the lease (idempotent).
    public func release() { lock.release() }

    /// The key of the lock `cache gc` holds.
    static let gcLockKey = "gc"

    /// The holders of live leases on `store`.
    public static func live(in store: CacheStore, staleAfter: TimeInterval = 60) -> [CacheLock.Holder] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: store.leasesDirectory.path)) ?? []
        return names.filter { $0.hasSuffix(".lock") && !$0.hasPrefix(".") }.compactMap { name in
            let url = store.leasesDirectory.appendingPathComponent(name)
            guard let holder = CacheLock.readHolder(url), !CacheLock.isStale(url, holder: holder, staleAfter: staleAfter) else { return nil }
            return holder
        }
    }
}
