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
}

extension MemoSlot {
    /// The stored sub-result, made by `make(url)` (which writes a file or a
    /// directory at `url`) when absent.
    public func get(in scratch: URL, orMake make: (URL) throws -> Void) throws -> URL {
        if let hit = try lookup() { return hit }
        let tmp = scratch.appendingPathComponent("memo-\(key.prefix(16))-\(UUID().uuidString)")
        try make(tmp)
        return try store(tmp)
    }
}
