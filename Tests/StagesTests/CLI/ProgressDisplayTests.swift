import XCTest
@testable import SSMFlowCLI
import Workflow

/// Plain progress lines (no terminal): at most every 30 s or per tenth, each
/// epoch summary, and none with --quiet.
final class ProgressDisplayTests: XCTestCase {
    private func display(quiet: Bool = false) -> (ProgressDisplay, () -> [String]) {
        let display = ProgressDisplay(verbose: false, quiet: quiet, interactive: false)
        let lines = LineSink()
        display.sink = { lines.append($0) }
        return (display, { lines.all })
    }

    private let start = Date(timeIntervalSinceReferenceDate: 1000)

    private func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

    func test_plainProgress_printsAtMostEvery30sBetweenTenths() {
        let (display, lines) = display()
        display.handle(.started(stage: "deepssm-train", reasons: ["never run"]), now: start)
        // One batch a second, 99 of 10_000: no tenth done, so silence decides.
        for done in 1...99 {
            display.handle(.progress(stage: "deepssm-train", done: done, total: 10_000, message: "epoch 1 of 10"),
                           now: at(Double(done)))
        }
        let progress = lines().filter { $0.hasPrefix("deepssm-train: ") && $0.contains("/10000") }
        // At 30, 60 and 90 s.
        XCTAssertEqual(progress.count, 3, progress.joined(separator: "\n"))
        XCTAssertEqual(progress.first, "deepssm-train: 30/10000 (0 %) epoch 1 of 10; elapsed 30.0s, about 2h46m left")
        XCTAssertTrue(progress.last?.hasPrefix("deepssm-train: 90/10000 ") ?? false, progress.joined(separator: "\n"))
    }

    func test_plainProgress_printsEachTenthButNotTwiceIn5s() {
        let (display, lines) = display()
        display.handle(.started(stage: "augment", reasons: []), now: start)
        for done in 1...100 {
            display.handle(.progress(stage: "augment", done: done, total: 100, message: "generated samples"),
                           now: at(Double(done)))
        }
        let progress = lines().filter { $0.contains("/100 (") }
        XCTAssertEqual(progress.map { $0.split(separator: " ")[1] }, ["10/100", "20/100", "30/100", "40/100", "50/100",
                                                                      "60/100", "70/100", "80/100", "90/100", "100/100"])
        // Fast work: ten tenths within a second give one line (the first after 5 s would be next).
        let (fast, fastLines) = self.display()
        fast.handle(.started(stage: "augment", reasons: []), now: start)
        for done in 1...100 {
            fast.handle(.progress(stage: "augment", done: done, total: 100, message: ""), now: at(Double(done) * 0.01))
        }
        XCTAssertTrue(fastLines().filter { $0.contains("/100 (") }.isEmpty, fastLines().joined(separator: "\n"))
    }

    func test_epochSummary_isPrintedWithElapsedAndTimeLeft() {
        let (display, lines) = display()
        display.handle(.started(stage: "deepssm-train", reasons: []), now: start)
        display.handle(.progress(stage: "deepssm-train", done: 50, total: 100, message: "epoch 1 of 2"), now: at(60))
        display.handle(.log(stage: "deepssm-train", line: "epoch 1: train error 0.5 (rel 0.2), val error 0.6 (rel 0.3), 60.0 s"), now: at(61))
        display.handle(.log(stage: "deepssm-train", line: "network: 1000 parameters"), now: at(62))
        XCTAssertEqual(lines().last, "deepssm-train: epoch 1: train error 0.5 (rel 0.2), val error 0.6 (rel 0.3), 60.0 s; elapsed 1m01s, about 1m01s left")
        XCTAssertFalse(lines().contains { $0.contains("network:") })
    }

    func test_quiet_printsNoProgressLines() {
        let (display, lines) = display(quiet: true)
        display.handle(.started(stage: "deepssm-train", reasons: ["never run"]), now: start)
        for done in 1...100 {
            display.handle(.progress(stage: "deepssm-train", done: done, total: 100, message: ""), now: at(Double(done) * 10))
        }
        display.handle(.log(stage: "deepssm-train", line: "epoch 1: train error 0.5"), now: at(1000))
        XCTAssertEqual(lines(), ["deepssm-train: running (never run)"])
    }

    func test_epochSummary_recognisesOnlyEpochLines() {
        XCTAssertTrue(ProgressDisplay.isEpochSummary("epoch 12: train error 1"))
        XCTAssertTrue(ProgressDisplay.isEpochSummary("fine-tune epoch 2: train particle RMSE 1 mm"))
        XCTAssertFalse(ProgressDisplay.isEpochSummary("epoch count is 3"))
        XCTAssertFalse(ProgressDisplay.isEpochSummary("resuming from the checkpoint of epoch 2 of 3"))
    }
}

/// Lines collected from a display.
private final class LineSink: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
