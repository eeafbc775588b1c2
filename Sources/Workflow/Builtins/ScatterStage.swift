import Foundation

/// The built-in `scatter` kind: a user's command run once per shard, each
/// shard memoized on its own, so a cluster runs the shards as a job array and
/// a failed shard is redone alone.
///
/// ```yaml
/// simulate:
///   uses: scatter
///   inputs: {model: fit.model}
///   params:
///     shards: 8
///     command: python3 simulate.py --part "$SSMFLOW_SHARD" --of "$SSMFLOW_SHARD_COUNT" --out "$SSMFLOW_SHARD_OUTPUT"
///     files: [simulate.py]
/// ```
///
/// Each run of the command gets an empty directory `$SSMFLOW_SHARD_OUTPUT` to
/// fill, plus the variables of the `shell` kind (`SSMFLOW_INPUT_<NAME>`,
/// `SSMFLOW_WORKFLOW_DIR`, `env`). The output `shards` is a directory holding
/// `shard-00000/`, `shard-00001/`, ... in order. A shard's memo ignores
/// `shards`, so raising the count computes only the new shards.
public struct ScatterStage: ShardedStage, DynamicPorts, ReadsExternalFiles {
    public static let kind = "scatter"
    public static let version = 1
    public static let summary = "run a shell command once per shard, each shard cached on its own (a job array on Slurm)"
    public static let inputs: [Port] = []
    public static let outputs = [Port("shards", "a directory of shard-NNNNN/ directories, one per shard")]

    public struct Params: StageParameters {
        /// How many times the command runs, with `SSMFLOW_SHARD` = 0, 1, ...
        public var shards: Int = 1
        /// The command line, run by `/bin/sh -c` once per shard.
        public var command: String = ""
        /// Files the command reads, relative to the workflow file (hashed into the key).
        public var files: [String] = []
        /// Extra environment variables.
        public var env: [String: String] = [:]

        public init() {}

        public func validate() -> [ParameterIssue] {
            var issues: [ParameterIssue] = []
            if shards < 1 || shards > 100_000 {
                issues.append(ParameterIssue("shards", "must be between 1 and 100000, got \(shards)"))
            }
            if command.trimmingCharacters(in: .whitespaces).isEmpty {
                issues.append(ParameterIssue("command", "must be a non-empty command line"))
            }
            return issues
        }
    }

    public init() {}

    public static func inputs(for params: Params, connected: [String]) -> [Port] {
        connected.map { Port($0, "read by the command as $SSMFLOW_INPUT_\(ShellStage.envName($0))") }
    }

    public static func outputs(for params: Params) -> [Port] { outputs }

    public static func externalFiles(_ params: Params) -> [String] { params.files }

    public static func shardCount(_ params: Params) -> Int { params.shards }

    public func runShard(_ index: Int, _ params: Params, context: StageContext) async throws {
        _ = try await shard(index, params, context: context)
    }

    public func run(_ params: Params, context: StageContext) async throws {
        let output = context.outputURL("shards")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        for index in 0..<params.shards {
            try context.checkCancellation()
            let stored = try await shard(index, params, context: context)
            try FileManager.default.copyItem(at: stored, to: output.appendingPathComponent(Self.shardName(index)))
            context.progress(index + 1, of: params.shards, "shard \(index)")
        }
    }

    static func shardName(_ index: Int) -> String { String(format: "shard-%05d", index) }

    /// The stored result of shard `index`, computed now when it is not memoized.
    private func shard(_ index: Int, _ params: Params, context: StageContext) async throws -> URL {
        let slot = context.memo(Self.shardName(index), ignoring: ["shards"])
        if let hit = try slot.lookup() { return hit }
        let result = context.scratchDirectory.appendingPathComponent("\(Self.shardName(index))-\(UUID().uuidString)")
        let work = context.scratchDirectory.appendingPathComponent("work-\(index)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: result, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        var environment = ProcessInfo.processInfo.environment
        for (name, value) in params.env { environment[name] = value }
        environment["SSMFLOW_WORKFLOW_DIR"] = context.workflowDirectory.path
        environment["SSMFLOW_STAGE"] = context.stageID
        environment["SSMFLOW_SHARD"] = String(index)
        environment["SSMFLOW_SHARD_COUNT"] = String(params.shards)
        environment["SSMFLOW_SHARD_OUTPUT"] = result.path
        if let local = context as? LocalStageContext {
            for (name, url) in local.job.inputs { environment["SSMFLOW_INPUT_\(ShellStage.envName(name))"] = url.path }
        }
        let status = try await Self.runCommand(params.command, in: work, environment: environment, context: context)
        guard status == 0 else {
            throw StageFailure("shard \(index): command exited with status \(status): \(params.command); its output is in the stage log")
        }
        return try slot.store(result)
    }

    /// Runs `/bin/sh -c command`, its output lines going to the stage log; returns the exit status.
    static func runCommand(_ command: String, in directory: URL, environment: [String: String],
                           context: StageContext) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.currentDirectoryURL = directory
        process.environment = environment
        let log = directory.appendingPathComponent(".ssmflow-output")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw StageFailure("cannot start /bin/sh for stage '\(context.stageID)': \(error)")
        }
        await withTaskCancellationHandler {
            while process.isRunning { try? await Task.sleep(nanoseconds: 20_000_000) }
        } onCancel: {
            process.terminate()
        }
        try? handle.close()
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0) {
            context.log(String(line))
        }
        try context.checkCancellation()
        return process.terminationStatus
    }
}
