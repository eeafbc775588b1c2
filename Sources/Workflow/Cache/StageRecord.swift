import Foundation

/// Every ingredient of a stage key, kept in full in the stage record so
/// `ssmflow explain` can show what changed, not only that something did.
public struct KeyManifest: Codable, Sendable, Equatable {
    /// Raised when the key encoding or the cache layout changes; invalidates every record.
    public static let currentSchema = 1

    public var schema: Int
    public var kind: String
    public var kindVersion: Int
    /// Resolved parameters, canonical (re-encoded from the decoded params struct).
    public var params: ParamValue
    /// Input name → content digest of the artifact read. Content, not the
    /// producer's key: a producer that reruns to identical bytes changes nothing
    /// downstream (early cutoff).
    public var inputs: [String: String]
    /// External file (as written) → content digest.
    public var files: [String: String]

    public init(kind: String, kindVersion: Int, params: ParamValue,
                inputs: [String: String], files: [String: String]) {
        self.schema = Self.currentSchema
        self.kind = kind
        self.kindVersion = kindVersion
        self.params = params
        self.inputs = inputs
        self.files = files
    }

    /// The stage key: SHA-256 over the canonical, type-tagged encoding.
    public var key: String { SHA256Hasher.hash(canonical(tag: "ssmflow-stage", params: params, item: nil)) }

    /// The key of a memo slot: these ingredients without the `ignoring`
    /// parameters, plus the item name.
    public func memoKey(item: String, ignoring: Set<String>) -> String {
        var members = params.members
        for name in ignoring { members[name] = nil }
        let reduced: ParamValue = params.members.isEmpty ? params : .object(members)
        return SHA256Hasher.hash(canonical(tag: "ssmflow-memo", params: reduced, item: item))
    }

    private func canonical(tag: String, params: ParamValue, item: String?) -> String {
        var out = "\(tag)\0"
        ParamValue.object([
            "schema": .int(schema),
            "kind": .string(kind),
            "kind_version": .int(kindVersion),
            "params": params,
            "inputs": .object(inputs.mapValues(ParamValue.string)),
            "files": .object(files.mapValues(ParamValue.string)),
            "item": item.map(ParamValue.string) ?? .null,
        ]).canonicalEncoding(into: &out)
        return out
    }
}

/// A cached output: its content digest and the file-system signature it had
/// when stored, which lets a hit skip rehashing an unchanged object.
public struct StoredArtifact: Codable, Sendable, Equatable {
    public var digest: ArtifactDigest
    /// Inode, mtime and size of every file of the object when it was stored.
    public var signature: String
}

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

/// A memo slot's record.
struct MemoRecord: Codable, Sendable {
    var key: String
    var item: String
    var artifact: StoredArtifact
}
