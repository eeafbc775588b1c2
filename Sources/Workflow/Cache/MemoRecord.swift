import Foundation

/// A memo slot's record.
struct MemoRecord: Codable, Sendable {
    var key: String
    var item: String
    var artifact: StoredArtifact
}
