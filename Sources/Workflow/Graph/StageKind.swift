import Foundation

/// A type-erased stage kind: what the engine needs of a `Stage` type.
public struct StageKind: Sendable {
    public let type: any Stage.Type
    private let _defaults: @Sendable () throws -> ParamValue
    private let _resolve: @Sendable (ParamValue) throws -> (params: ParamValue, issues: [ParameterIssue])
    private let _inputs: @Sendable (ParamValue, [String]) -> [Port]
    private let _outputs: @Sendable (ParamValue) -> [Port]
    private let _files: @Sendable (ParamValue) -> [String]
    private let _run: @Sendable (ParamValue, StageContext) async throws -> Void

    public init(_ type: any Stage.Type) { self = type.erasedKind }

    init<S: Stage>(generic type: S.Type) {
        self.type = type
        _defaults = { try ParamValue.encoding(S.Params()) }
        _resolve = { value in
            let decoded = try value.decode(S.Params.self)
            return (try ParamValue.encoding(decoded), decoded.validate())
        }
        _inputs = { value, connected in
            (S.self as? any DynamicPorts.Type)?.dynamicInputs(value, connected) ?? S.inputs
        }
        _outputs = { value in (S.self as? any DynamicPorts.Type)?.dynamicOutputs(value) ?? S.outputs }
        _files = { value in (S.self as? any ReadsExternalFiles.Type)?.files(value) ?? [] }
        _run = { value, context in
            let params: S.Params
            do { params = try value.decode(S.Params.self) } catch {
                throw StageFailure("parameters of stage '\(context.stageID)' no longer decode as '\(S.kind)' parameters: \(error)")
            }
            try await S().run(params, context: context)
        }
    }

    public var kind: String { type.kind }
    public var version: Int { type.version }
    public var summary: String { type.summary }
    /// Parameters absent from the defaults that a workflow may still set.
    public var optionalParameters: [String] { type.optionalParameterNames }
    /// Parameters the stage receives that stay out of its keys.
    public var unkeyedParameters: [String] { type.unkeyedParameterNames }

    /// `params` as they enter the stage key: without the unkeyed parameters.
    public func keyed(_ params: ParamValue) -> ParamValue {
        guard case .object(var members) = params, !unkeyedParameters.isEmpty else { return params }
        for name in unkeyedParameters { members[name] = nil }
        return .object(members)
    }

    /// The defaults (`Params()`) as a value tree.
    public func defaults() throws -> ParamValue { try _defaults() }

    /// Decodes `value` into the params struct and re-encodes it: the canonical
    /// resolved parameters (so `1e-4` and `0.0001` agree) and the range issues
    /// from `validate()`. Throws `DecodingError` for wrong types.
    public func resolve(_ value: ParamValue) throws -> (params: ParamValue, issues: [ParameterIssue]) {
        try _resolve(value)
    }

    /// Input ports of an instance with these parameters and connections.
    public func inputs(params: ParamValue, connected: [String]) -> [Port] { _inputs(params, connected) }

    /// Output ports of an instance with these parameters.
    public func outputs(params: ParamValue) -> [Port] { _outputs(params) }

    /// External files an instance reads (paths as written).
    public func externalFiles(params: ParamValue) -> [String] { _files(params) }

    /// Runs the stage with resolved parameters.
    public func run(params: ParamValue, context: StageContext) async throws {
        try await _run(params, context)
    }
}

// Static members called on an existential metatype run with `Self` bound:
// this is how an `any Stage.Type` is opened.
extension Stage {
    static var erasedKind: StageKind { StageKind(generic: Self.self) }
    static var optionalParameterNames: [String] { Params.optionalParameters }
    static var unkeyedParameterNames: [String] { Params.unkeyedParameters }
}

extension DynamicPorts {
    static func dynamicInputs(_ value: ParamValue, _ connected: [String]) -> [Port]? {
        (try? value.decode(Params.self)).map { inputs(for: $0, connected: connected) }
    }
    static func dynamicOutputs(_ value: ParamValue) -> [Port]? {
        (try? value.decode(Params.self)).map { outputs(for: $0) }
    }
}

extension ReadsExternalFiles {
    static func files(_ value: ParamValue) -> [String] {
        (try? value.decode(Params.self)).map { externalFiles($0) } ?? []
    }
}
