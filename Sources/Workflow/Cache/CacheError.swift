import Foundation

/// A problem with the cache directory or an object in it.
public struct CacheError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The request names something the cache cannot serve as asked (no such
    /// stage or output, an export target that is a file): exit 2, not a fault.
    public var isInvalidInput: Bool
    public init(_ message: String, invalidInput: Bool = false) {
        self.message = message
        self.isInvalidInput = invalidInput
    }
    public var description: String { message }
}
