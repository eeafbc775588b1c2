import ArgumentParser
import Foundation
import Workflow

/// `ssmflow cache ...`.
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "List, inspect, export, verify and garbage-collect the stage cache.",
        discussion: """
        The cache is --cache-dir, else $SSMFLOW_CACHE, else ./cache.

        Examples:
          ssmflow cache ls
          ssmflow cache show augment
          ssmflow cache export split.test femur-test/
          ssmflow cache verify
          ssmflow cache gc --keep-last 3 --dry-run
        """,
        subcommands: [List.self, Show.self, Export.self, Verify.self, GC.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List stage records and their sizes.",
            discussion: "Example:\n  ssmflow cache ls --cache-dir cache")
        @OptionGroup var cache: CacheOptions

        func run() throws {
            let entries = CacheMaintenance(store: try cache.store()).entries()
            let formatter = ISO8601DateFormatter()
            print(table(["key", "workflow", "stage", "kind", "size", "time", "when", "latest"], entries.map {
                [String($0.key.prefix(12)), $0.workflow, $0.stage, $0.kind, formatBytes($0.size), formatSeconds($0.seconds),
                 formatter.string(from: $0.startedAt), $0.isLatest ? "*" : ""]
            }))
            print("\(entries.count) records, \(formatBytes(entries.reduce(0) { $0 + $1.size })) of outputs")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show a record's manifest and outputs, with a typed summary of each.",
            discussion: "Examples:\n  ssmflow cache show augment\n  ssmflow cache show femur-deepssm/augment\n  ssmflow cache show 3fa9c2   # a record key or an object digest prefix")
        @OptionGroup var cache: CacheOptions
        @Argument(help: "A stage id (its latest result), WORKFLOW/STAGE, a record key prefix or an object digest prefix.")
        var reference: String

        func run() throws {
            let store = try cache.store()
            let record: StageRecord
            do { record = try CacheMaintenance(store: store).findRecord(reference) } catch {
                // Not a stage or a record: perhaps an object digest.
                guard let object = CacheCommand.objectMatching(reference, in: store) else { throw error }
                print("object \(object.lastPathComponent)  \(object.path)")
                for line in CacheCommand.summary(of: object) { print("  \(line)") }
                return
            }
            print("record \(record.key)")
            print("stage \(record.workflow)/\(record.stage), kind \(record.manifest.kind) version \(record.manifest.kindVersion), schema \(record.manifest.schema)")
            print("ran \(ISO8601DateFormatter().string(from: record.startedAt)) on \(record.host) (pid \(record.pid)) in \(formatSeconds(record.seconds))")
            print("params:")
            for (path, value) in record.manifest.params.flattened().sorted(by: { $0.key < $1.key }) { print("  \(path) = \(value)") }
            if !record.manifest.inputs.isEmpty {
                print("inputs:")
                for (name, digest) in record.manifest.inputs.sorted(by: { $0.key < $1.key }) {
                    print("  \(name) ← \(record.inputSources[name]?.description ?? "?")  \(digest.prefix(16))")
                }
            }
            for (path, digest) in record.manifest.files.sorted(by: { $0.key < $1.key }) { print("file \(path)  \(digest.prefix(16))") }
            if !record.metrics.isEmpty {
                print("metrics:")
                for (name, value) in record.metrics.sorted(by: { $0.key < $1.key }) { print("  \(name) = \(value)") }
            }
            print("outputs:")
            for (name, artifact) in record.outputs.sorted(by: { $0.key < $1.key }) {
                let url = store.objectURL(artifact.digest.hex)
                print("  \(name)  \(artifact.digest.hex.prefix(16))  \(formatBytes(artifact.digest.size))  \(url.path)")
                for line in CacheCommand.summary(of: url) { print("    \(line)") }
            }
            if !record.log.isEmpty {
                print("log (last 20 lines):")
                for line in record.log.suffix(20) { print("  \(line)") }
            }
        }
    }

    /// The first inspector's summary that understands `url`; the plain one last.
    static func summary(of url: URL) -> [String] {
        for inspector in makeRegistry().inspectors + [PlainArtifactInspector()] {
            do {
                if let lines = try inspector.summary(of: url) { return lines }
            } catch {
                return ["(cannot summarise: \(error))"]
            }
        }
        return []
    }

    /// The object whose digest starts with `prefix` (at least 6 hex digits), if exactly one does.
    static func objectMatching(_ prefix: String, in store: CacheStore) -> URL? {
        let prefix = prefix.lowercased()
        guard prefix.count >= 6, prefix.allSatisfy(\.isHexDigit) else { return nil }
        let shard = store.objectURL(prefix).deletingLastPathComponent()
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: shard.path)) ?? []).filter { $0.hasPrefix(prefix) }
        return names.count == 1 ? shard.appendingPathComponent(names[0]) : nil
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export", abstract: "Write a cached artifact out as ordinary files.",
            discussion: """
            Artifacts with a layout of their own are written in it, into DIR (which must be \
            new or empty): an augmentation pool (augment.pool) as the reference's \
            Generated-Images/*.nrrd, Generated-Particles/*.particles, PCA_Particle_Info/ and \
            TotalData.csv; a cohort (femur-cohort.cohort, shapeworks-femur.cohort, split.train, \
            split.test) as ShapeWorks' femur layout (groomed/images/, shape_models/femur/...). \
            Any other artifact, or any with --raw, is copied as it is to DIR/OUTPUT.

            Examples:
              ssmflow cache export split.test femur-test/
              ssmflow cache export augment.pool augmentation/
              ssmflow cache export split.train femur-train/
              ssmflow cache export augment.pool out/ --raw
            """)
        @OptionGroup var cache: CacheOptions
        @Argument(help: "STAGE.OUTPUT (or WORKFLOW/STAGE.OUTPUT).")
        var artifact: String
        @Argument(help: "The directory to write into.")
        var directory: String
        @Flag(help: "Copy the cached files as they are, not in the artifact's own layout.")
        var raw = false

        func run() throws {
            guard let dot = artifact.lastIndex(of: ".") else {
                throw ValidationError("'\(artifact)' must be STAGE.OUTPUT")
            }
            let maintenance = CacheMaintenance(store: try cache.store())
            let record = try maintenance.findRecord(String(artifact[..<dot]))
            let output = String(artifact[artifact.index(after: dot)...])
            switch try maintenance.exportArtifact(record, output: output, to: URL(fileURLWithPath: directory),
                                                  exporters: makeRegistry().exporters, raw: raw) {
            case .layout(let url), .copy(let url): print(url.path)
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify", abstract: "Rehash every cached object and read every record; report what is damaged.",
            discussion: """
            Reports corrupt or missing objects and unreadable records and exits 1 when there \
            is any; changes nothing unless --repair is given, which removes them so the next \
            run recomputes them. 'plan' and 'status' also report damage without changing the \
            cache; 'run' recomputes a damaged stage and says why.

            Examples:
              ssmflow cache verify
              ssmflow cache verify --repair
            """)
        @OptionGroup var cache: CacheOptions
        @Flag(help: "Remove corrupt objects, unreadable records and the records that use them.")
        var repair = false
        @Flag(help: ArgumentHelp("Report only (the default; kept for old scripts).", visibility: .hidden))
        var dryRun = false

        func validate() throws {
            if repair && dryRun { throw ValidationError("use either --repair or --dry-run, not both") }
        }

        func run() throws {
            let (checked, problems) = CacheMaintenance(store: try cache.store()).verify(repair: repair)
            for problem in problems { print(problem) }
            let tail = problems.isEmpty ? "" : repair ? "; removed, the next run recomputes them"
                                                      : "; nothing removed ('ssmflow cache verify --repair' removes them, or the next run recomputes them)"
            print("\(checked) objects checked, \(problems.count) problem(s)\(tail)")
            if !problems.isEmpty { throw ExitCode(1) }
        }
    }

    struct GC: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc", abstract: "Remove records, memos and objects that no kept record references.",
            discussion: """
            Kept: the latest record of every stage, the records of the last N runs, the memos \
            they used and the objects these reference. Safe beside running workflows, also \
            from other hosts on a shared cache: while a run holds a lease (leases/), gc \
            removes no record or memo and only unreferenced objects older than the oldest \
            run; a run that starts during a gc waits for it.

            Example:
              ssmflow cache gc --keep-last 3 --dry-run
            """)
        @OptionGroup var cache: CacheOptions
        @Flag(help: "Show what would be removed.")
        var dryRun = false
        @Option(help: "Also keep the records of the last N runs.")
        var keepLast = 1

        func run() throws {
            let result = try CacheMaintenance(store: try cache.store()).collect(keepLast: keepLast, dryRun: dryRun)
            let verb = dryRun ? "would remove" : "removed"
            if !result.liveRuns.isEmpty {
                print("\(result.liveRuns.count) run(s) in progress (\(result.liveRuns.joined(separator: ", "))): keeping every record and memo, and objects newer than the oldest run")
            }
            print("\(verb) \(result.records.count) records, \(result.memos.count) memos, \(result.objects.count) objects (\(formatBytes(result.bytes))), \(result.workDirectories.count) abandoned work directories, \(result.staleLocks.count) stale locks")
        }
    }
}
