import Foundation

/// A stage a run is about to compute, as a `RunPreflight` sees it.
public struct PreflightStage: Sendable {
    public var id: String
    public var kind: String
    public var params: ParamValue

    public init(id: String, kind: String, params: ParamValue) {
        self.id = id
        self.kind = kind
        self.params = params
    }
}
