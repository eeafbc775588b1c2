import Foundation
import Workflow
import XCTest
@testable import Stages

/// Seconds per training epoch and peak RSS of `deepssm-train` on a synthetic
/// loaders artifact. Run with `SSMFLOW_BENCH=1` (skipped otherwise);
/// `SSMFLOW_BENCH_SAMPLES` (default 500) sets the pool size and
/// `SSMFLOW_BENCH_SIZES` (default `64x64x64,78x96x102`, depth × height × width)
/// the image sizes, `SSMFLOW_BENCH_RESIDENCY` (auto, device or stream) the
/// residency. 80 % of the pool trains, 20 % validates.
final class DeepSSMTrainBenchmarkTests: XCTestCase {
    func test_benchmark_oneEpoch() async throws {
        let environment = ProcessInfo.processInfo.environment
        try XCTSkipUnless(environment["SSMFLOW_BENCH"] != nil, "set SSMFLOW_BENCH=1")
        let samples = Int(environment["SSMFLOW_BENCH_SAMPLES"] ?? "") ?? 500
        let sizes = (environment["SSMFLOW_BENCH_SIZES"] ?? "64x64x64,78x96x102").split(separator: ",").map {
            $0.split(separator: "x").compactMap { Int($0) }
        }
        for size in sizes where size.count == 3 {
            let root = try temporaryTestDirectory("deepssm-train-bench")
            defer { try? FileManager.default.removeItem(at: root) }
            var fixture = LoadersFixture()
            fixture.shape = (nz: size[0], ny: size[1], nx: size[2])
            fixture.numModes = 6
            fixture.trainCount = samples * 4 / 5
            fixture.valCount = samples - samples * 4 / 5
            fixture.testCount = 1
            try fixture.write(to: root.appendingPathComponent("loaders"))

            let context = try DeepSSMTestContext(root: root, inputs: ["loaders": root.appendingPathComponent("loaders")],
                                                 memoDirectory: root.appendingPathComponent("memo"))
            var params = DeepSSMTrain.Params()
            params.epochs = 1
            params.device = "cpu"
            params.threads = Int(environment["SSMFLOW_BENCH_THREADS"] ?? "") ?? 1
            params.residency = environment["SSMFLOW_BENCH_RESIDENCY"]
            let before = Self.peakRSS()
            let started = Date(), cpuBefore = Self.cpuSeconds()
            try await DeepSSMTrain().run(params, context: context)
            let seconds = Date().timeIntervalSince(started), cpu = Self.cpuSeconds() - cpuBefore
            print(String(format: "deepssm-train 1x%@, %d samples (%d train, batch 8, %d thread(s), residency %@): epoch %.1f s (stage %.1f s, %.1f CPU s), peak RSS %.0f MiB (before %.0f MiB)",
                         size.map(String.init).joined(separator: "x"), samples, fixture.trainCount, params.threads,
                         params.residency ?? "auto",
                         context.metrics["epoch_seconds"] ?? 0, seconds, cpu, Self.peakRSS(), before))
        }
    }

    /// User + system CPU seconds of this process so far.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// The process's peak resident set size so far, in MiB (Linux: ru_maxrss in KiB).
    static func peakRSS() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
