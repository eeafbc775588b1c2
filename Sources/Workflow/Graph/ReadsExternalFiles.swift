import Foundation

/// A stage kind that reads files named in its parameters (a script, a config):
/// their contents become part of the stage key. Paths are relative to the
/// workflow file's directory.
public protocol ReadsExternalFiles {
    associatedtype Params: StageParameters
    static func externalFiles(_ params: Params) -> [String]
}
