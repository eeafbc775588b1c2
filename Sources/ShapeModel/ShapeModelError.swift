import Foundation

/// A shape-model computation that cannot go on with the data it was given
/// (too few shapes, mismatched particle counts, a singular covariance): what is
/// wrong and how to fix it, in a sentence a stage passes on unchanged.
public struct ShapeModelError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
