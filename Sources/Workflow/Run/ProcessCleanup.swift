import Foundation

/// What this process holds in the cache (locks, leases, work directories), so
/// that a hurried exit (a second Ctrl-C) can release them before `_exit`.
///
/// A hurried exit calls `_exit`, not `exit`: `exit` runs atexit handlers and
/// static destructors (libtorch's, oneDNN's) while a worker thread may still be
/// inside a native kernel, which crashes the process. Nothing committed can be
/// half written by `_exit`: objects and records are renamed into place whole.
public enum ProcessCleanup {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var locks: Set<String> = []
    nonisolated(unsafe) private static var directories: Set<String> = []

    /// A lock or lease file this process created.
    static func holdLock(_ path: String) { lock.withLock { _ = locks.insert(path) } }
    static func releaseLock(_ path: String) { lock.withLock { _ = locks.remove(path) } }

    /// A work directory this process is filling.
    static func holdDirectory(_ path: String) { lock.withLock { _ = directories.insert(path) } }
    static func releaseDirectory(_ path: String) { lock.withLock { _ = directories.remove(path) } }

    /// The paths held now (for tests).
    public static var held: (locks: [String], directories: [String]) {
        lock.withLock { (locks.sorted(), directories.sorted()) }
    }

    /// Removes every lock, lease and work directory this process holds, then
    /// ends it at once with `status`, without atexit handlers or destructors.
    public static func hurriedExit(_ status: Int32) -> Never {
        let (lockPaths, directoryPaths) = held
        for path in lockPaths { unlink(path) }
        for path in directoryPaths { removeTree(path) }
        _exit(status)
    }

    /// `rm -rf` that makes read-only directories writable first.
    private static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            chmod(path, 0o755)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
