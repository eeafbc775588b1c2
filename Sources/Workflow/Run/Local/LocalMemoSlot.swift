import Foundation

extension CacheStore {
    /// The memo slot `key` of this store (what a stage's `memo(_:ignoring:)`
    /// hands out); `onProblem` hears about corrupt or missing entries.
    public func memoSlot(key: String, item: String, onProblem: @escaping @Sendable (String) -> Void = { _ in }) -> MemoSlot {
        LocalMemoSlot(key: key, item: item, store: self, onProblem: onProblem)
    }
}

/// A memo slot backed by the cache's object store.
struct LocalMemoSlot: MemoSlot {
    let key: String
    let item: String
    let store: CacheStore
    let onProblem: @Sendable (String) -> Void

    func lookup() throws -> URL? {
        guard let record = store.memoRecord(key, onProblem: { onProblem("memo '\(item)': \($0)") }) else { return nil }
        switch store.verify(record.artifact, full: false) {
        case .ok:
            return store.objectURL(record.artifact.digest.hex)
        case .missing:
            onProblem("memo '\(item)' (\(key.prefix(12))): object missing; recomputing")
        case .corrupt(let why):
            onProblem("memo '\(item)' (\(key.prefix(12))): object corrupt (\(why)); removed, recomputing")
            store.removeObject(record.artifact.digest.hex)
        }
        store.removeMemo(key)
        return nil
    }

    /// The memo key's lock, in `locks/` beside the stage keys' locks.
    func claim() throws -> MemoClaim {
        try CacheLock.acquireBlocking(key: "memo-\(key)", in: store.locksDirectory,
                                      onWait: { onProblem("waiting for memo '\(item)': \($0) is computing it") })
    }

    @discardableResult
    func store(_ url: URL) throws -> URL {
        let artifact = try store.store(url)
        try store.writeMemoRecord(MemoRecord(key: key, item: item, artifact: artifact))
        return store.objectURL(artifact.digest.hex)
    }
}
