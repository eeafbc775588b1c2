import Foundation

/// The one way from a workflow file (or YAML text) to a `ResolvedWorkflow`:
/// parse, then resolve against the registry. `Engine.load` and every command
/// go through it.
public struct WorkflowLoader: Sendable {
    public var registry: StageRegistry

    public init(registry: StageRegistry) { self.registry = registry }

    /// Parses and resolves a workflow file (relative paths resolve against its directory).
    /// Throws `SpecError` with every problem, positioned.
    public func load(file url: URL, options: ResolveOptions = .init()) throws -> ResolvedWorkflow {
        let spec = try WorkflowSpec.load(url)
        return try WorkflowResolver(registry: registry).resolve(spec, options: options,
                                                                directory: url.deletingLastPathComponent())
    }

    /// Parses and resolves YAML text; relative paths resolve against `directory`
    /// (default: the current directory).
    public func load(yaml: String, file: String = "workflow.yaml", options: ResolveOptions = .init(),
                     directory: URL? = nil) throws -> ResolvedWorkflow {
        let spec = try WorkflowSpec.parse(yaml: yaml, file: file)
        let dir = directory ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        return try WorkflowResolver(registry: registry).resolve(spec, options: options, directory: dir)
    }

    /// The `cache: {dir:}` a workflow file declares, resolved against its
    /// directory, without resolving its stages (for the `cache` commands).
    public static func cacheDirectory(declaredIn url: URL) throws -> URL? {
        let spec = try WorkflowSpec.load(url)
        if let issue = spec.issues.first(where: { $0.message.contains("'cache'") }) { throw SpecError([issue]) }
        return spec.cacheDirectory.map { url.deletingLastPathComponent().appendingPathComponent($0) }
    }
}

/// The one rule for where the cache is: `--cache-dir`, else `$SSMFLOW_CACHE`,
/// else the workflow's `cache: {dir:}`, else `./cache`.
public enum CacheLocation {
    public static func directory(explicit: String?, declared: URL?,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let explicit, !explicit.isEmpty { return URL(fileURLWithPath: explicit) }
        if let env = environment["SSMFLOW_CACHE"], !env.isEmpty { return URL(fileURLWithPath: env) }
        return declared ?? URL(fileURLWithPath: "cache")
    }

    public static func directory(explicit: String?, workflow: ResolvedWorkflow,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        directory(explicit: explicit, declared: workflow.cacheDirectory, environment: environment)
    }
}
