import Foundation

/// A lock on one stage key, so two runs (processes, or hosts sharing the cache
/// over NFS) never compute and commit the same key at once.
///
/// The lock is a file created with `O_CREAT|O_EXCL` (atomic on local file
/// systems and NFSv3+) holding the holder's host, pid and start time; its
/// mtime is the heartbeat, refreshed while the holder works. A lock is stale,
/// and broken, when its holder is a dead process on this host, or when its
/// heartbeat is older than `staleAfter` (a holder on another host that died).
public final class CacheLock: MemoClaim, @unchecked Sendable {
    /// Who holds a lock.
    public struct Holder: Codable, Sendable, CustomStringConvertible {
        public var host: String
        public var pid: Int32
        public var since: Date
        public var description: String { "pid \(pid) on \(host)" }
    }

    public let url: URL
    private var heartbeat: Task<Void, Never>?

    private init(url: URL) {
        self.url = url
        ProcessCleanup.holdLock(url.path)
    }

    /// Takes the lock for `key`, waiting while another live holder has it. The
    /// heartbeat defaults to every 5 s (more often when `staleAfter` is short).
    /// `onWait` is called once with the holder when the lock is busy.
    public static func acquire(key: String, in directory: URL, staleAfter: TimeInterval = 60,
                               heartbeatEvery: TimeInterval? = nil,
                               onWait: (Holder) -> Void = { _ in }) async throws -> CacheLock {
        let url = directory.appendingPathComponent("\(key).lock")
        var reportedWait = false
        while true {
            try Task.checkCancellation()
            if try tryCreate(url) {
                let lock = CacheLock(url: url)
                // Several beats per stale period, so a slow beat never looks like a dead holder.
                lock.startHeartbeat(every: heartbeatEvery ?? min(5, staleAfter / 6))
                return lock
            }
            if let holder = readHolder(url), !isStale(url, holder: holder, staleAfter: staleAfter) {
                if !reportedWait { onWait(holder); reportedWait = true }
                try await Task.sleep(nanoseconds: 100_000_000)
                continue
            }
            breakLock(url)
        }
    }

    /// Takes the lock for `key` when it is free or stale, without waiting; nil
    /// when a live holder has it (`holder` tells who).
    public static func tryAcquire(key: String, in directory: URL, staleAfter: TimeInterval = 60,
                                  holder: inout Holder?) throws -> CacheLock? {
        let url = directory.appendingPathComponent("\(key).lock")
        for _ in 0..<2 {
            if try tryCreate(url) {
                let lock = CacheLock(url: url)
                lock.startHeartbeat(every: min(5, staleAfter / 6))
                return lock
            }
            if let current = readHolder(url), !isStale(url, holder: current, staleAfter: staleAfter) {
                holder = current
                return nil
            }
            breakLock(url)
        }
        holder = readHolder(url)
        return nil
    }

    /// `acquire` for synchronous code (a stage's memo slot): polls, and throws
    /// `CancellationError` when the calling task is cancelled while waiting.
    public static func acquireBlocking(key: String, in directory: URL, staleAfter: TimeInterval = 60,
                                       onWait: (Holder) -> Void = { _ in }) throws -> CacheLock {
        var reportedWait = false
        while true {
            if Task.isCancelled { throw CancellationError() }
            var holder: Holder?
            if let lock = try tryAcquire(key: key, in: directory, staleAfter: staleAfter, holder: &holder) { return lock }
            if let holder, !reportedWait { onWait(holder); reportedWait = true }
            usleep(100_000)
        }
    }

    /// Releases the lock (idempotent).
    public func release() {
        heartbeat?.cancel()
        heartbeat = nil
        unlink(url.path)
        ProcessCleanup.releaseLock(url.path)
    }

    deinit { heartbeat?.cancel() }

    private func startHeartbeat(every interval: TimeInterval) {
        let path = url.path
        heartbeat = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
                if Task.isCancelled { break }
                utimes(path, nil)
            }
        }
    }

    private static func tryCreate(_ url: URL) throws -> Bool {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        if fd < 0 {
            let code = errno
            if code == EEXIST { return false }
            // locks/ and leases/ lie directly in the cache directory.
            if let kind = StorageFault.kind(errno: code) {
                throw CacheError(StorageFault(kind: kind).message(path: url.deletingLastPathComponent().deletingLastPathComponent(), stage: nil))
            }
            throw CacheError("cannot create lock '\(url.path)': \(String(cString: strerror(code))); check that the cache directory is writable")
        }
        let holder = Holder(host: hostName(), pid: getpid(), since: Date())
        let data = (try? CacheStore.encoder.encode(holder)) ?? Data()
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        return true
    }

    /// The holder of the lock at `url`, or nil when it is gone or unreadable.
    public static func readHolder(_ url: URL) -> Holder? {
        guard let data = FileManager.default.contents(atPath: url.path), !data.isEmpty else {
            // A lock being written right now is empty for a moment: treat it as
            // held by an unknown live writer unless it is old.
            if FileManager.default.fileExists(atPath: url.path) {
                return Holder(host: "?", pid: 0, since: Date())
            }
            return nil
        }
        return try? CacheStore.decoder.decode(Holder.self, from: data)
    }

    static func isStale(_ url: URL, holder: Holder, staleAfter: TimeInterval) -> Bool {
        var info = stat()
        guard stat(url.path, &info) == 0 else { return true }
        let age = Date().timeIntervalSince1970 - Double(info.st_mtim.tv_sec)
        if age > staleAfter { return true }
        if holder.host == hostName(), holder.pid > 0, kill(holder.pid, 0) != 0, errno == ESRCH { return true }
        return false
    }

    /// Removes a stale lock by renaming it aside first, so two processes breaking
    /// the same stale lock cannot remove a fresh lock taken in between.
    static func breakLock(_ url: URL) {
        let aside = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).broken.\(getpid()).\(UUID().uuidString.prefix(6))")
        guard rename(url.path, aside.path) == 0 else { return }
        // Another process may have broken the stale lock and taken a fresh one
        // between our check and the rename: put a fresh lock back.
        if let holder = readHolder(aside), !isStale(aside, holder: holder, staleAfter: .infinity) || holder.host != hostName() {
            var info = stat()
            if stat(aside.path, &info) == 0, Date().timeIntervalSince1970 - Double(info.st_mtim.tv_sec) < 1 {
                _ = link(aside.path, url.path)
            }
        }
        unlink(aside.path)
    }
}

/// This machine's host name.
public func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, buffer.count)
    return String(cString: buffer)
}
