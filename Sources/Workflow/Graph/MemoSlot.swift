import Foundation

/// A memoized sub-result: a file or directory stored in the cache under its own key.
public protocol MemoSlot: Sendable {
    /// The sub-result's key (SHA-256 hex).
    var key: String { get }
    /// The stored sub-result, verified, or nil when absent (a corrupt one is
    /// reported, removed and treated as absent).
    func lookup() throws -> URL?
    /// Moves the file or directory at `url` into the cache (atomically) and
    /// returns its stored, read-only location.
    @discardableResult
    func store(_ url: URL) throws -> URL
    /// Takes this slot's lock (waiting while another run, on any host sharing
    /// the cache, holds it), so two runs never compute the same sub-result at
    /// once. Release it when the sub-result is stored or abandoned.
    func claim() throws -> MemoClaim
}

/// A held memo lock; `release` is idempotent.
public protocol MemoClaim: Sendable {
    func release()
}

/// The claim of a slot that needs no lock (one process, no shared cache).
public struct UnlockedMemoClaim: MemoClaim {
    public init() {}
    public func release() {}
}

extension MemoSlot {
    public func claim() throws -> MemoClaim { UnlockedMemoClaim() }

    /// The stored sub-result, made by `make(url)` (which writes a file or a
    /// directory at `url`) when absent. Made under the slot's lock: a run that
    /// finds another making it waits and then uses that one.
    public func get(in scratch: URL, orMake make: (URL) throws -> Void) throws -> URL {
        if let hit = try lookup() { return hit }
        let claim = try claim()
        defer { claim.release() }
        if let hit = try lookup() { return hit }
        let tmp = scratch.appendingPathComponent("memo-\(key.prefix(16))-\(UUID().uuidString)")
        try make(tmp)
        return try store(tmp)
    }
}
