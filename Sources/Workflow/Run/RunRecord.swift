import Foundation

/// How a stage ended in a run.
public enum StageOutcome: String, Codable, Sendable {
    /// Computed and committed.
    case ran
    /// Taken from the cache after its outputs were verified.
    case cached
    /// Threw; its dependants are skipped.
    case failed
    /// Not attempted: an input failed, was cancelled, or the stage was outside `--until` / `--only`.
    case skipped
    /// Interrupted (Ctrl-C); nothing was committed.
    case cancelled
}

/// One stage in a run record.
public struct StageRunSummary: Codable, Sendable {
    public var stage: String
    public var kind: String
    public var outcome: StageOutcome
    /// Why it ran, or why it was skipped or failed (readable lines).
    public var reasons: [String]
    public var key: String?
    public var seconds: Double
    public var metrics: [String: Double]
    /// The failure message, with its cause.
    public var error: String?
}

/// A run: what was asked, what each stage did, and its metrics. Stored as
/// `runs/<id>/run.json` in the cache.
public struct RunRecord: Codable, Sendable {
    public var id: String
    public var workflow: String
    public var file: String
    public var startedAt: Date
    public var seconds: Double
    public var profile: String?
    public var overrides: [String]
    /// Stage id → resolved parameters.
    public var params: [String: ParamValue]
    /// In topological order.
    public var stages: [StageRunSummary]
    /// Facts about the machine from the run's preflight checks (device, GPU,
    /// libtorch): provenance, not part of any key. Nil when none ran.
    public var environment: [String: String]? = nil

    /// Stages computed in this run.
    public var ranCount: Int { stages.filter { $0.outcome == .ran }.count }
    /// Stages served from the cache.
    public var cachedCount: Int { stages.filter { $0.outcome == .cached }.count }
    public var failedCount: Int { stages.filter { $0.outcome == .failed }.count }
    public var succeeded: Bool { !stages.contains { $0.outcome == .failed || $0.outcome == .cancelled } }

    public subscript(stage: String) -> StageRunSummary? { stages.first { $0.stage == stage } }

    /// A sortable id: UTC time to the millisecond (runs a second apart must
    /// still sort in order: `last` and `gc --keep-last` rely on it) plus a random suffix.
    public static func makeID(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd-HHmmss.SSS"
        return "\(f.string(from: date))-\(UUID().uuidString.prefix(4).lowercased())"
    }
}

/// The run history in a cache.
public struct RunHistory: Sendable {
    public let store: CacheStore

    public init(store: CacheStore) { self.store = store }

    public func save(_ run: RunRecord) throws {
        try store.writeAtomically(CacheStore.encoder.encode(run), to: directory(of: run.id).appendingPathComponent("run.json"))
    }

    /// `runs/<id>/`, where finishers write their files.
    public func directory(of id: String) -> URL { store.runsDirectory.appendingPathComponent(id) }

    /// Every run, oldest first.
    public func all() -> [RunRecord] {
        let ids = ((try? FileManager.default.contentsOfDirectory(atPath: store.runsDirectory.path)) ?? []).sorted()
        return ids.compactMap(load)
    }

    public func load(_ id: String) -> RunRecord? {
        guard let data = FileManager.default.contents(atPath: directory(of: id).appendingPathComponent("run.json").path) else { return nil }
        return try? CacheStore.decoder.decode(RunRecord.self, from: data)
    }

    /// A run by id, unique id prefix, or `last` / `last~N` (N runs before the last).
    public func find(_ reference: String) throws -> RunRecord {
        let runs = all()
        if reference == "last" || reference.hasPrefix("last~") {
            let back = Int(reference.dropFirst(5)) ?? 0
            guard runs.count > back else { throw CacheError("there is no run '\(reference)': the cache holds \(runs.count) run(s); see 'ssmflow runs'") }
            return runs[runs.count - 1 - back]
        }
        let matches = runs.filter { $0.id.hasPrefix(reference) }
        guard matches.count == 1 else {
            throw CacheError(matches.isEmpty ? "no run '\(reference)' in the cache; see 'ssmflow runs' for ids"
                                             : "run id '\(reference)' is ambiguous (\(matches.count) runs); give more characters")
        }
        return matches[0]
    }
}
