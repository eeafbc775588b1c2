import Foundation

/// A stage kind whose inputs or outputs depend on its parameters (the `shell`
/// kind declares its outputs in the workflow). Kinds that adopt it are checked
/// against these ports instead of the static ones.
public protocol DynamicPorts {
    associatedtype Params: StageParameters
    /// The inputs this instance accepts, given the names the workflow connects.
    static func inputs(for params: Params, connected: [String]) -> [Port]
    static func outputs(for params: Params) -> [Port]
}

/// A stage kind that reads files named in its parameters (a script, a config):
/// their contents become part of the stage key. Paths are relative to the
/// workflow file's directory.
public protocol ReadsExternalFiles {
    associatedtype Params: StageParameters
    static func externalFiles(_ params: Params) -> [String]
}

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

/// The stage kinds a workflow may use, plus the hooks that give artifacts and
/// runs their domain meaning (inspectors, exporters, finishers). The engine registers its
/// built-in `shell` kind; the command line adds the pipeline's kinds.
public struct StageRegistry: Sendable {
    public private(set) var kinds: [String: StageKind] = [:]
    /// Summarisers for `ssmflow cache show` (first match wins; plain files otherwise).
    public var inspectors: [any ArtifactInspector] = []
    /// Writers of domain layouts for `ssmflow cache export` (first that handles
    /// an artifact wins; a plain copy otherwise).
    public var exporters: [any ArtifactExporter] = []
    /// Called after every run, in order.
    public var finishers: [any RunFinisher] = []
    /// Called before a run computes the stages they concern, in order.
    public var preflights: [any RunPreflight] = []

    /// A registry with the built-in kinds (`shell`) and `kinds`.
    public init(_ kinds: [any Stage.Type] = [], includeBuiltins: Bool = true) {
        if includeBuiltins {
            register(ShellStage.self)
            register(NoopStage.self)
            register(ScatterStage.self)
        }
        for kind in kinds { register(kind) }
    }

    /// Adds a kind. Two kinds with one id is a programming error.
    public mutating func register(_ type: any Stage.Type) {
        precondition(kinds[type.kind] == nil, "stage kind '\(type.kind)' registered twice")
        kinds[type.kind] = StageKind(type)
    }

    public subscript(kind: String) -> StageKind? { kinds[kind] }

    /// Kind ids, sorted.
    public var names: [String] { kinds.keys.sorted() }
}
