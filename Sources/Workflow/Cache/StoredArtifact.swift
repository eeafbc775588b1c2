import Foundation

/// A cached output: its content digest and the file-system signature it had
/// when stored, which lets a hit skip rehashing an unchanged object.
public struct StoredArtifact: Codable, Sendable, Equatable {
    public var digest: ArtifactDigest
    /// Inode, mtime and size of every file of the object when it was stored.
    public var signature: String
}
