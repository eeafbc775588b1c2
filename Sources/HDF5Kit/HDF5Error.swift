import Foundation

/// A failure reading or writing an HDF5 file, naming the file and, where there
/// is one, the dataset or attribute.
public struct HDF5Error: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of problem it is, for callers that react differently to each.
    public enum Kind: Sendable, Equatable {
        /// The file does not exist.
        case missingFile
        /// The file exists but is not HDF5, or is truncated or damaged.
        case corruptFile
        /// No dataset, group or attribute at the given path.
        case missingObject
        /// The object exists already and cannot be created again.
        case alreadyExists
        /// The stored element type is not the one asked for.
        case wrongType
        /// The stored shape, or the data's size, is not the one expected.
        case wrongShape
        /// Any other failure inside the HDF5 library.
        case library
    }

    public var kind: Kind
    /// The file concerned.
    public var file: URL
    /// The dataset, group or attribute path inside the file, if any.
    public var object: String?
    /// A lowercase sentence: what went wrong and how to fix it.
    public var message: String

    public init(_ kind: Kind, file: URL, object: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.object = object
        self.message = message
    }

    public var description: String {
        let place = object.map { "\(file.path) [\($0)]" } ?? file.path
        return "\(place): \(message)"
    }
}
