import Foundation

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
