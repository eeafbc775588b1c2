import ArgumentParser
import Foundation
import Workflow

/// `ssmflow runs`.
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List recorded runs.",
        discussion: "Example:\n  ssmflow runs --cache-dir cache"
    )

    @OptionGroup var cache: CacheOptions

    func run() throws {
        let runs = RunHistory(store: try cache.store()).all()
        let formatter = ISO8601DateFormatter()
        print(table(["id", "workflow", "when", "time", "ran", "cached", "failed", "profile / overrides"], runs.map {
            [$0.id, $0.workflow, formatter.string(from: $0.startedAt), formatSeconds($0.seconds), String($0.ranCount),
             String($0.cachedCount), String($0.failedCount), ([$0.profile].compactMap { $0 } + $0.overrides).joined(separator: " ")]
        }))
    }
}

/// `ssmflow diff`.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two runs: parameters that differ, metrics side by side with their change.",
        discussion: """
        Runs are named by id, a unique id prefix, 'last' or 'last~N'.

        Examples:
          ssmflow diff last~1 last
          ssmflow diff 20261127-0712 20261127-0745
        """
    )

    @OptionGroup var cache: CacheOptions
    @Argument(help: "The earlier run.") var runA: String
    @Argument(help: "The later run.") var runB: String

    func run() throws {
        let history = RunHistory(store: try cache.store())
        let a = try history.find(runA), b = try history.find(runB)
        print("A = \(a.id) (\(a.workflow))   B = \(b.id) (\(b.workflow))")
        var paramRows: [[String]] = []
        for stage in Set(a.params.keys).union(b.params.keys).sorted() {
            let pa = a.params[stage]?.flattened() ?? [:], pb = b.params[stage]?.flattened() ?? [:]
            for path in Set(pa.keys).union(pb.keys).sorted() where pa[path]?.canonical != pb[path]?.canonical {
                paramRows.append(["\(stage).\(path)", pa[path]?.description ?? "-", pb[path]?.description ?? "-"])
            }
        }
        print("")
        print(paramRows.isEmpty ? "parameters: identical" : table(["parameter", "A", "B"], paramRows))
        var metricRows: [[String]] = []
        let stages = Set(a.stages.map(\.stage)).union(b.stages.map(\.stage))
        for stage in stages.sorted() {
            let ma = a[stage]?.metrics ?? [:], mb = b[stage]?.metrics ?? [:]
            for name in Set(ma.keys).union(mb.keys).sorted() {
                let va = ma[name], vb = mb[name]
                var change = ""
                if let va, let vb {
                    change = String(format: "%+.6g", vb - va)
                    if va != 0 { change += String(format: " (%+.1f%%)", (vb - va) / abs(va) * 100) }
                }
                metricRows.append(["\(stage).\(name)", va.map { String(format: "%.6g", $0) } ?? "-",
                                   vb.map { String(format: "%.6g", $0) } ?? "-", change])
            }
        }
        print("")
        print(metricRows.isEmpty ? "metrics: none recorded" : table(["metric", "A", "B", "change"], metricRows))
        var outcomeRows: [[String]] = []
        for stage in stages.sorted() where a[stage]?.outcome != b[stage]?.outcome || a[stage]?.key != b[stage]?.key {
            outcomeRows.append([stage, a[stage]?.outcome.rawValue ?? "-", b[stage]?.outcome.rawValue ?? "-",
                                a[stage]?.key == b[stage]?.key ? "same result" : "different result"])
        }
        if !outcomeRows.isEmpty {
            print("")
            print(table(["stage", "A", "B", ""], outcomeRows))
        }
    }
}
