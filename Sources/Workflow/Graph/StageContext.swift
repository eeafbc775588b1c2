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
