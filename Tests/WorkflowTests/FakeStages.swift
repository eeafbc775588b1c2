import Foundation
import XCTest
@testable import Workflow

/// Counts executions per stage id, so tests can assert hits and misses.
final class ExecutionCounter: @unchecked Sendable {
    static let shared = ExecutionCounter()
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    func record(_ key: String) { lock.withLock { counts[key, default: 0] += 1 } }
    func count(_ key: String) -> Int { lock.withLock { counts[key] ?? 0 } }
    func reset() { lock.withLock { counts = [:] } }
}

/// Writes an integer.
struct EmitStage: Stage {
    static let kind = "emit"
    static let version = 1
    static let summary = "writes a number"
    static let inputs: [Workflow.Port] = []
    static let outputs: [Workflow.Port] = [Workflow.Port("out")]
    struct Params: StageParameters {
        var value: Int = 0
        var rate: Double = 0.001
        var label: String = ""
        func validate() -> [ParameterIssue] {
            value < 0 ? [ParameterIssue("value", "must be ≥ 0, got \(value)")] : []
        }
    }
    func run(_ params: Params, context: StageContext) async throws {
        ExecutionCounter.shared.record(context.stageID)
        try "\(params.value)".write(to: context.outputURL("out"), atomically: false, encoding: .utf8)
    }
}

/// Writes the parity of its input: many inputs, two outputs (for early cutoff).
struct ParityStage: Stage {
    static let kind = "parity"
    static let version = 1
    static let summary = "x mod 2"
    static let inputs: [Workflow.Port] = [Workflow.Port("x")]
    static let outputs: [Workflow.Port] = [Workflow.Port("out")]
    struct Params: StageParameters {}
    func run(_ params: Params, context: StageContext) async throws {
        ExecutionCounter.shared.record(context.stageID)
        let x = Int(try String(contentsOf: context.input("x"), encoding: .utf8))!
        try "\(x % 2)".write(to: context.outputURL("out"), atomically: false, encoding: .utf8)
    }
}

/// Sums its inputs plus an offset; writes a directory artifact; can fail on demand.
struct AddStage: Stage {
    static let kind = "add"
    static let version = 1
    static let summary = "a + b + offset"
    static let inputs: [Workflow.Port] = [Workflow.Port("a"), Workflow.Port("b", optional: true)]
    static let outputs: [Workflow.Port] = [Workflow.Port("out"), Workflow.Port("table")]
    struct Params: StageParameters {
        var offset: Int = 0
        var fail: Bool = false
    }
    func run(_ params: Params, context: StageContext) async throws {
        ExecutionCounter.shared.record(context.stageID)
        if params.fail { throw StageFailure("asked to fail") }
        var sum = params.offset
        for name in ["a", "b"] where context.hasInput(name) {
            sum += Int(try String(contentsOf: context.input(name), encoding: .utf8))!
        }
        try "\(sum)".write(to: context.outputURL("out"), atomically: false, encoding: .utf8)
        let table = context.outputURL("table")
        try FileManager.default.createDirectory(at: table, withIntermediateDirectories: true)
        try "sum,\(sum)\n".write(to: table.appendingPathComponent("sum.csv"), atomically: false, encoding: .utf8)
        context.metric("sum", Double(sum))
    }
}

/// Computes `num_samples` items, each memoized independently of the count.
struct SamplesStage: Stage {
    static let kind = "samples"
    static let version = 1
    static let summary = "memoized per-sample work"
    static let inputs: [Workflow.Port] = []
    static let outputs: [Workflow.Port] = [Workflow.Port("out")]
    struct Params: StageParameters {
        var num_samples: Int = 3
        var seed: Int = 1
    }
    func run(_ params: Params, context: StageContext) async throws {
        var lines: [String] = []
        for i in 0..<params.num_samples {
            let url = try context.memo("sample-\(i)", ignoring: ["num_samples"]).get(in: context.scratchDirectory) { url in
                ExecutionCounter.shared.record("\(context.stageID)/sample")
                try "\(i * params.seed)".write(to: url, atomically: false, encoding: .utf8)
            }
            lines.append(try String(contentsOf: url, encoding: .utf8))
        }
        try lines.joined(separator: "\n").write(to: context.outputURL("out"), atomically: false, encoding: .utf8)
    }
}

/// Writes half its output, then waits to be cancelled (a stage killed mid-write).
struct HangStage: Stage {
    static let kind = "hang"
    static let version = 1
    static let summary = "never finishes"
    static let inputs: [Workflow.Port] = [Workflow.Port("x", optional: true)]
    static let outputs: [Workflow.Port] = [Workflow.Port("out")]
    struct Params: StageParameters { var hang: Bool = true }
    func run(_ params: Params, context: StageContext) async throws {
        ExecutionCounter.shared.record(context.stageID)
        try "partial".write(to: context.outputURL("out"), atomically: false, encoding: .utf8)
        while params.hang {
            try context.checkCancellation()
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }
}

/// A second version of `emit`, to simulate a code change.
struct EmitStageV2: Stage {
    static let kind = "emit"
    static let version = 2
    static let summary = "writes a number"
    static let inputs: [Workflow.Port] = []
    static let outputs: [Workflow.Port] = [Workflow.Port("out")]
    typealias Params = EmitStage.Params
    func run(_ params: Params, context: StageContext) async throws {
        ExecutionCounter.shared.record(context.stageID)
        try "\(params.value)".write(to: context.outputURL("out"), atomically: false, encoding: .utf8)
    }
}

/// Factories shared by the tests.
enum Fixture {
    static let kinds: [any Stage.Type] = [EmitStage.self, ParityStage.self, AddStage.self, SamplesStage.self, HangStage.self]

    /// a (emit) → b (parity) → c (add) → e (add) ← d (emit)
    static let chain = """
    workflow: chain
    params:
      base: 2
    stages:
      a:
        uses: emit
        params: {value: "${params.base}", rate: 0.0001}
      b:
        uses: parity
        inputs: {x: a.out}
      c:
        uses: add
        params: {offset: 1}
        inputs: {a: b.out}
      d:
        uses: emit
        params: {value: 7}
      e:
        uses: add
        inputs: {a: c.out, b: d.out}
    profiles:
      tiny: {d.value: 8}
    """

    static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ssmflow-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func engine(_ cache: URL, kinds: [any Stage.Type] = Fixture.kinds) throws -> Engine {
        try Engine(registry: StageRegistry(kinds), cacheDirectory: cache, lockStaleAfter: 5)
    }

    /// Removes a directory tree, including read-only cache objects.
    static func remove(_ url: URL) {
        if let store = try? CacheStore(root: url) { try? store.removeTree(url) }
    }
}

extension RunRecord {
    /// Ids of the stages with `outcome`, in order.
    func stages(_ outcome: StageOutcome) -> [String] { stages.filter { $0.outcome == outcome }.map(\.stage) }
}

/// Lines collected from concurrently running observers.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var _items: [String] = []
    func append(_ item: String) { lock.withLock { _items.append(item) } }
    var items: [String] { lock.withLock { _items } }
}

/// A test case with a fresh cache directory and an engine over the fake kinds.
class EngineTestCase: XCTestCase {
    var dir: URL!
    var engine: Engine!

    override func setUpWithError() throws {
        ExecutionCounter.shared.reset()
        dir = Fixture.temporaryDirectory()
        engine = try Fixture.engine(dir.appendingPathComponent("cache"))
    }

    override func tearDown() { Fixture.remove(dir) }
}
