import Foundation

/// The built-in `shell` kind: a user's own command (a Python evaluation, a
/// ShapeWorks call) in the same DAG, with the same caching.
///
/// ```yaml
/// evaluate:
///   uses: shell
///   inputs: {particles: predict.particles}      # any names
///   params:
///     command: python3 eval.py "$SSMFLOW_INPUT_PARTICLES" report.csv
///     files: [eval.py]            # read by the command: content-hashed into the key
///     outputs: {report: report.csv}   # written in the working directory, captured
///     env: {OMP_NUM_THREADS: "1"}
/// ```
///
/// The command runs under `/bin/sh -c` in an empty working directory, with
/// `SSMFLOW_INPUT_<NAME>` (read-only inputs), `SSMFLOW_OUTPUT_<NAME>` (where
/// each output is expected), `SSMFLOW_WORKFLOW_DIR` and `env` set. Names are
/// upper-cased with non-alphanumerics as `_`. A non-zero exit fails the stage.
public struct ShellStage: Stage, DynamicPorts, ReadsExternalFiles {
    public static let kind = "shell"
    public static let version = 1
    public static let summary = "run a shell command; its declared files and outputs are cached like any stage's"
    public static let inputs: [Port] = []
    public static let outputs: [Port] = []

    public struct Params: StageParameters {
        /// The command line, run by `/bin/sh -c`.
        public var command: String = ""
        /// Files the command reads, relative to the workflow file (hashed into the key).
        public var files: [String] = []
        /// Output name → path the command writes, relative to its working directory.
        public var outputs: [String: String] = [:]
        /// Extra environment variables.
        public var env: [String: String] = [:]

        public init() {}

        public func validate() -> [ParameterIssue] {
            var issues: [ParameterIssue] = []
            if command.trimmingCharacters(in: .whitespaces).isEmpty {
                issues.append(ParameterIssue("command", "must be a non-empty command line"))
            }
            for (name, path) in outputs where path.isEmpty || path.hasPrefix("/") || path.split(separator: "/").contains("..") {
                issues.append(ParameterIssue("outputs", "output '\(name)' must be a relative path inside the working directory, not '\(path)'"))
            }
            return issues
        }
    }

    public init() {}

    public static func inputs(for params: Params, connected: [String]) -> [Port] {
        connected.map { Port($0, "read by the command as $SSMFLOW_INPUT_\(envName($0))") }
    }

    public static func outputs(for params: Params) -> [Port] {
        params.outputs.keys.sorted().map { Port($0, "written by the command at \(params.outputs[$0]!)") }
    }

    public static func externalFiles(_ params: Params) -> [String] { params.files }

    static func envName(_ name: String) -> String {
        String(name.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    public func run(_ params: Params, context: StageContext) async throws {
        let work = context.scratchDirectory.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        for (name, value) in params.env { environment[name] = value }
        environment["SSMFLOW_WORKFLOW_DIR"] = context.workflowDirectory.path
        environment["SSMFLOW_STAGE"] = context.stageID
        environment["SSMFLOW_THREADS"] = String(context.threads)
        for (name, path) in params.outputs {
            environment["SSMFLOW_OUTPUT_\(Self.envName(name))"] = work.appendingPathComponent(path).path
        }
        // Inputs are whatever the workflow connected; the context knows them.
        if let local = context as? LocalStageContext {
            for (name, url) in local.job.inputs { environment["SSMFLOW_INPUT_\(Self.envName(name))"] = url.path }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", params.command]
        process.currentDirectoryURL = work
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw StageFailure("cannot start /bin/sh for stage '\(context.stageID)': \(error)")
        }
        let reader = Task.detached { () -> [String] in
            var lines: [String] = []
            var buffer = Data()
            while true {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 0x0a) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...newline)
                    context.log(line)
                    lines.append(line)
                }
            }
            if !buffer.isEmpty {
                let line = String(decoding: buffer, as: UTF8.self)
                context.log(line)
                lines.append(line)
            }
            return lines
        }
        await withTaskCancellationHandler {
            while process.isRunning { try? await Task.sleep(nanoseconds: 20_000_000) }
        } onCancel: {
            // Stop everything the command started, not only the shell: a child
            // left running would keep the output pipe open.
            Self.terminateTree(process.processIdentifier)
        }
        let lines = await reader.value
        try context.checkCancellation()
        guard process.terminationStatus == 0 else {
            let tail = lines.suffix(5).joined(separator: "\n  ")
            throw StageFailure("command exited with status \(process.terminationStatus): \(params.command)\(tail.isEmpty ? "" : "\n  " + tail)")
        }
        for (name, path) in params.outputs.sorted(by: { $0.key < $1.key }) {
            let produced = work.appendingPathComponent(path)
            guard FileManager.default.fileExists(atPath: produced.path) else {
                throw StageFailure("command finished but did not write output '\(name)' at '\(path)' (relative to its working directory, also given as $SSMFLOW_OUTPUT_\(Self.envName(name)))")
            }
            try FileManager.default.moveItem(at: produced, to: context.outputURL(name))
        }
    }

    /// Sends SIGTERM to `pid` and all its descendants (found through /proc).
    static func terminateTree(_ pid: Int32) {
        guard pid > 0 else { return }
        var children: [Int32: [Int32]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let child = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // Fields after the command name: state, ppid, ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = Int32(fields[1]) { children[parent, default: []].append(child) }
        }
        var stack = [pid], all: [Int32] = []
        while let next = stack.popLast() {
            all.append(next)
            stack.append(contentsOf: children[next] ?? [])
        }
        for member in all { kill(member, SIGTERM) }
    }
}
