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
