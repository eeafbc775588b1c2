import Foundation

/// One stage key's record: written last, as the commit marker of a stage run.
public struct StageRecord: Codable, Sendable {
    public var key: String
    public var stage: String
    public var workflow: String
    public var manifest: KeyManifest
    /// Which outputs the inputs came from (for messages; not part of the key).
    public var inputSources: [String: ArtifactAddress]
    public var outputs: [String: StoredArtifact]
    public var startedAt: Date
    public var seconds: Double
    public var host: String
    public var pid: Int32
    public var log: [String]
    public var metrics: [String: Double]
    /// Memo slots used, kept alive by this record in `cache gc`.
    public var memos: [String]
}
