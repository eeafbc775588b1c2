import Foundation

/// What a running stage sees of the engine: its resolved inputs, where to put
/// its outputs, sub-result memoization, progress, metrics and logs.
///
/// A stage never reads another stage's files by path: only artifacts handed to
/// it here, so every byte it sees is part of its key.
public protocol StageContext: AnyObject, Sendable {
    /// The stage id in the workflow (e.g. `augment`).
    var stageID: String { get }
    /// The stage key (SHA-256 hex) this run will be recorded under.
    var key: String { get }
    /// Number of CPU threads this stage may use.
    var threads: Int { get }
    /// The directory of the workflow file; relative paths in parameters (a
    /// script of a `shell` stage) are read against it.
    var workflowDirectory: URL { get }

    /// Local path of a connected input artifact (a file or a directory); read-only.
    /// Throws `StageFailure` naming the input when it is not connected.
    func input(_ name: String) throws -> URL
    /// Whether an optional input is connected.
    func hasInput(_ name: String) -> Bool

    /// Where the stage must write output `name`: create a file, or a directory,
    /// at exactly this path. The engine moves it into the cache after `run`.
    func outputURL(_ name: String) -> URL
    /// A private scratch directory, deleted after the stage ends.
    var scratchDirectory: URL { get }

    /// A memo slot for a sub-result (one augmentation sample, one epoch's
    /// checkpoint). Its key is the stage key's ingredients with the named
    /// parameters removed, plus `item`; e.g. `memo("sample-17", ignoring:
    /// ["num_samples"])` survives a change of `num_samples`.
    func memo(_ item: String, ignoring parameters: Set<String>) -> MemoSlot

    /// Progress of long work, shown live (`done` of `total` units).
    func progress(_ done: Int, of total: Int, _ message: String)
    /// A line for the stage log (stored in the record; shown with `--verbose`).
    func log(_ line: String)
    /// A scalar result (a validation error, a surface distance) recorded with the run.
    func metric(_ name: String, _ value: Double)

    /// Throws `CancellationError` when the run was interrupted.
    func checkCancellation() throws
}

extension StageContext {
    /// The current directory, for contexts that have no workflow file.
    public var workflowDirectory: URL { URL(fileURLWithPath: FileManager.default.currentDirectoryPath) }
}

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
