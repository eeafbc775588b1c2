import ArgumentParser
import Foundation
import Workflow

/// `ssmflow`: run and inspect SSMFlow workflows. The executables call
/// `SSMFlow.main(registry:)` with the stage kinds they link.
public struct SSMFlow: AsyncParsableCommand {
    public init() {}

    /// Every stage kind, inspector and finisher of this executable.
    nonisolated(unsafe) static var registry = StageRegistry()

    /// Subcommands the executable adds (e.g. `ssmflow cohort` from the pipeline).
    nonisolated(unsafe) static var extraCommands: [ParsableCommand.Type] = []

    /// Runs the command line with `registry` and the executable's own `commands`.
    public static func main(registry: StageRegistry, commands: [ParsableCommand.Type] = []) async {
        var registry = registry
        if !registry.executorKinds.contains("slurm") { registry.executorKinds.append("slurm") }
        self.registry = registry
        self.extraCommands = commands
        await main()
    }

    // Computed, so the executable's extra subcommands are part of it.
    public static var configuration: CommandConfiguration { CommandConfiguration(
        commandName: "ssmflow",
        abstract: "Run statistical-shape-model workflows with a content-addressed stage cache.",
        discussion: """
        A workflow is a YAML file describing a DAG of stages. Every stage's outputs are \
        cached under a key made of its kind, code version, parameters and input contents, \
        so after an edit only the stages whose inputs really changed run again.

        Examples:
          ssmflow run workflows/femur_deepssm.yaml --tiny-test
          ssmflow plan workflows/femur_deepssm.yaml --set deepssm-train.epochs=60
          ssmflow explain workflows/femur_deepssm.yaml deepssm-train
          ssmflow diff last~1 last

        Exit codes: 0 ok, 1 a run, a stage or the cache failed (a full disk, a read-only cache), 2 invalid workflow or arguments, 130 interrupted.
        """,
        subcommands: [RunCommand.self, PlanCommand.self, StatusCommand.self, DagCommand.self,
                      ExplainCommand.self, CacheCommand.self, RunsCommand.self, DiffCommand.self,
                      KindsCommand.self, ExecStageCommand.self] + extraCommands
    ) }

    /// Parses, runs, and maps errors to the documented exit codes: 2 for an
    /// invalid workflow or arguments, 1 for anything that fails while running
    /// (a stage, the cache, the disk), each told once in our words.
    public static func main() async {
        var command: ParsableCommand
        do { command = try parseAsRoot() } catch {
            if exitCode(for: error) == .success { exit(withError: error) }  // --help, --version
            // Argument errors: argument-parser's message and usage, exit status 2.
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
        do {
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let error as SpecError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            Foundation.exit(2)
        } catch let error as PlanError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            Foundation.exit(2)
        } catch let error as CacheError where error.isInvalidInput {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            Foundation.exit(2)
        } catch let error as ValidationError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            Foundation.exit(2)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            // Help and argument errors raised while running (a subcommand's --help).
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            FileHandle.standardError.write(Data("error: \(runtimeMessage(error))\n".utf8))
            Foundation.exit(1)
        }
    }

    /// A run-time failure in words: a storage fault with the cache path and its
    /// free space, a cache error as it is, anything else with its description.
    static func runtimeMessage(_ error: Error) -> String {
        if let error = error as? CacheError {
            return error.message
        }
        let path = (error as NSError).userInfo[NSFilePathErrorKey] as? String
        let url = path.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        if let words = StorageFault.describe(error, cache: url, stage: nil) { return words }
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain {
            return "\(ns.localizedDescription)\(path.map { " ('\($0)')" } ?? "")"
        }
        return "\(error)"
    }
}
