import Foundation
import Workflow

/// A real `StageContext` for running one stage kind outside a workflow, in
/// tests and benchmarks: inputs by name, outputs and scratch under one
/// folder, and memo slots in a real `CacheStore` under the stage's real memo
/// keys (its kind, version, parameters and input digests, minus the ignored
/// parameters), so memo reuse behaves as in a run.
///
///     let context = try ScratchStageContext(root: dir, cache: dir.appendingPathComponent("cache"),
///                                           kind: DeepSSMTrain.self, params: params, inputs: ["loaders": url])
///     try await DeepSSMTrain().run(params, context: context)
public final class ScratchStageContext: StageContext, @unchecked Sendable {
    public let stageID: String
    public let threads: Int
    public let store: CacheStore
    public let outputsDirectory: URL
    public let scratchDirectory: URL
    private let inputs: [String: URL]
    private let kind: String, version: Int, params: ParamValue
    private let lock = NSLock()
    private var _manifest: KeyManifest?
    private var _logs: [String] = []
    private var _metrics: [String: Double] = [:]
    private var _progressCalls = 0
    private var _cancelAfterProgressCalls: Int?

    /// `root` holds the outputs and scratch; `cache` the memo store (created
    /// when absent; two contexts on one cache share their memo slots exactly
    /// when their keys say so).
    public init(root: URL, cache: URL, stage: String = "stage", kind: String = "scratch", version: Int = 1,
                params: ParamValue = .object([:]), inputs: [String: URL] = [:], threads: Int = 1) throws {
        stageID = stage
        self.threads = threads
        self.inputs = inputs
        store = try CacheStore(root: cache)
        self.kind = kind
        self.version = version
        self.params = params
        let unique = UUID().uuidString
        outputsDirectory = root.appendingPathComponent("outputs-\(unique)")
        scratchDirectory = root.appendingPathComponent("scratch-\(unique)")
        for dir in [outputsDirectory, scratchDirectory] {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
    }

    /// The same for a stage type: its kind id and version enter the keys.
    public convenience init<S: Stage>(root: URL, cache: URL, stage: String = "stage", kind: S.Type, params: S.Params,
                                      inputs: [String: URL] = [:], threads: Int = 1) throws {
        try self.init(root: root, cache: cache, stage: stage, kind: S.kind, version: S.version,
                      params: StageKind(S.self).keyed(try ParamValue.encoding(params)), inputs: inputs, threads: threads)
    }

    /// The stage's key manifest: its inputs are hashed on first use (a
    /// benchmark whose stage never asks for a memo or its key never pays for it).
    public var manifest: KeyManifest {
        lock.withLock {
            if let manifest = _manifest { return manifest }
            var digests: [String: String] = [:]
            for (name, url) in inputs { digests[name] = (try? ArtifactDigest.of(url).hex) ?? "unreadable:\(url.path)" }
            let manifest = KeyManifest(kind: kind, kindVersion: version, params: params, inputs: digests, files: [:])
            _manifest = manifest
            return manifest
        }
    }

    public var key: String { manifest.key }

    /// Log lines, metrics and progress calls the stage reported.
    public var logs: [String] { lock.withLock { _logs } }
    public var metrics: [String: Double] { lock.withLock { _metrics } }
    public var progressCalls: Int { lock.withLock { _progressCalls } }
    /// Simulates an interruption: `checkCancellation` throws `CancellationError`
    /// once this many progress calls have been made.
    public var cancelAfterProgressCalls: Int? {
        get { lock.withLock { _cancelAfterProgressCalls } }
        set { lock.withLock { _cancelAfterProgressCalls = newValue } }
    }

    public func input(_ name: String) throws -> URL {
        guard let url = inputs[name] else {
            throw StageFailure("stage '\(stageID)' reads input '\(name)' but it is not connected")
        }
        return url
    }

    public func hasInput(_ name: String) -> Bool { inputs[name] != nil }
    public func outputURL(_ name: String) -> URL { outputsDirectory.appendingPathComponent(name) }

    public func memo(_ item: String, ignoring parameters: Set<String>) -> MemoSlot {
        store.memoSlot(key: manifest.memoKey(item: item, ignoring: parameters), item: item,
                       onProblem: { [weak self] in self?.log($0) })
    }

    public func progress(_ done: Int, of total: Int, _ message: String) { lock.withLock { _progressCalls += 1 } }
    public func log(_ line: String) { lock.withLock { _logs.append(line) } }
    public func metric(_ name: String, _ value: Double) { lock.withLock { _metrics[name] = value } }

    public func checkCancellation() throws {
        let (limit, calls) = lock.withLock { (_cancelAfterProgressCalls, _progressCalls) }
        if let limit, calls >= limit { throw CancellationError() }
    }
}
