import Foundation
import Workflow

/// Live progress on standard error: on a terminal, a redrawn block with one
/// line per running stage (state, elapsed, progress); otherwise (CI, a pipe,
/// a Slurm or `nohup` log) plain lines as stages start and finish, and for a
/// long stage a progress line at most every `plainInterval` seconds and at each
/// tenth of its work, plus every epoch summary a stage logs, each with the
/// elapsed time and an estimate of the time left. `quiet` drops the progress
/// lines, keeping starts, ends, warnings and failures.
final class ProgressDisplay: @unchecked Sendable {
    private struct Running {
        var started: Date
        var state: String
        var done = 0
        var total = 0
        var message = ""
        var printed: Date
        var printedTenth = 0
    }

    /// The longest silence of a running stage's plain progress, in seconds.
    static let plainInterval: TimeInterval = 30
    /// The shortest gap between two plain lines of one stage's tenths, in seconds.
    static let tenthInterval: TimeInterval = 5

    private let lock = NSLock()
    private let interactive: Bool
    private let verbose: Bool
    private let quiet: Bool
    private var running: [String: Running] = [:]
    private var order: [String] = []
    private var drawnLines = 0
    private var ticker: Task<Void, Never>?

    init(verbose: Bool, quiet: Bool = false, interactive: Bool? = nil) {
        self.verbose = verbose
        self.quiet = quiet
        let env = ProcessInfo.processInfo.environment
        self.interactive = interactive ?? (isatty(STDERR_FILENO) == 1 && env["CI"] == nil && env["TERM"] != "dumb")
        if self.interactive {
            ticker = Task.detached { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: 200_000_000)
                    self?.lock.withLock { self?.redraw() }
                }
            }
        }
    }

    func stop() {
        ticker?.cancel()
        lock.withLock { clear() }
    }

    /// The observer to hand to `Engine.run`.
    var observer: RunObserver { { [weak self] event in self?.handle(event) } }

    /// Lines go here (standard error unless a test captures them).
    var sink: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    func handle(_ event: RunEvent, now: Date = Date()) {
        lock.withLock {
            clear()
            switch event {
            case let .started(stage, reasons):
                running[stage] = Running(started: now, state: "running", printed: now)
                order.append(stage)
                if !interactive { emit("\(stage): running (\(reasons.joined(separator: "; ")))") }
            case let .progress(stage, done, total, message):
                running[stage]?.done = done
                running[stage]?.total = total
                running[stage]?.message = message
                if !interactive && !quiet { plainProgress(stage, now: now) }
            case let .log(stage, line):
                if verbose {
                    emit("[\(stage)] \(line)")
                } else if !interactive && !quiet && Self.isEpochSummary(line), let r = running[stage] {
                    emit("\(stage): \(line); \(timing(r, now: now))")
                    running[stage]?.printed = now
                }
            case let .waiting(stage, holder):
                running[stage]?.state = "waiting for \(holder)"
                emit("\(stage): waiting for the lock held by \(holder)")
            case .finished(let summary):
                running[summary.stage] = nil
                order.removeAll { $0 == summary.stage }
                if summary.outcome == .failed {
                    emit("\(summary.stage): failed: \(summary.error ?? "")")
                } else if !interactive || summary.outcome == .ran {
                    emit("\(summary.stage): \(summary.outcome.rawValue) (\(formatSeconds(summary.seconds)))")
                }
            case .warning(let text):
                emit("warning: \(text)")
            case .note(let text):
                emit(text)
            }
            redraw()
        }
    }

    private func emit(_ line: String) { sink(line) }

    /// A plain progress line when the stage has been silent for `plainInterval`
    /// or has done another tenth of its work (at most every `tenthInterval`).
    private func plainProgress(_ stage: String, now: Date) {
        guard let r = running[stage], r.total > 0 else { return }
        let tenth = min(10, r.done * 10 / r.total)
        let silent = now.timeIntervalSince(r.printed)
        guard silent >= Self.plainInterval || (tenth > r.printedTenth && silent >= Self.tenthInterval) else { return }
        let percent = r.done * 100 / r.total
        emit("\(stage): \(r.done)/\(r.total) (\(percent) %)\(r.message.isEmpty ? "" : " \(r.message)"); \(timing(r, now: now))")
        running[stage]?.printed = now
        running[stage]?.printedTenth = tenth
    }

    /// "elapsed 1m02s, about 3m10s left" from the stage's progress rate.
    private func timing(_ r: Running, now: Date) -> String {
        let elapsed = now.timeIntervalSince(r.started)
        var text = "elapsed \(formatSeconds(elapsed))"
        if r.total > 0, r.done > 0, r.done < r.total {
            text += ", about \(formatSeconds(elapsed / Double(r.done) * Double(r.total - r.done))) left"
        }
        return text
    }

    /// A stage's per-epoch summary ("epoch 3: ...", "fine-tune epoch 2: ..."),
    /// which a plain log shows even without --verbose.
    static func isEpochSummary(_ line: String) -> Bool {
        let rest = line.hasPrefix("fine-tune ") ? line.dropFirst("fine-tune ".count) : line[...]
        guard rest.hasPrefix("epoch ") else { return false }
        let number = rest.dropFirst("epoch ".count).prefix { $0 != ":" }
        return !number.isEmpty && number.allSatisfy(\.isNumber) && rest.dropFirst("epoch ".count + number.count).hasPrefix(":")
    }

    private func clear() {
        guard interactive, drawnLines > 0 else { return }
        FileHandle.standardError.write(Data(String(repeating: "\u{1b}[1A\u{1b}[2K", count: drawnLines).utf8))
        drawnLines = 0
    }

    private func redraw() {
        guard interactive else { return }
        clear()
        var lines: [String] = []
        for stage in order {
            guard let r = running[stage] else { continue }
            var line = "  \(stage)  \(r.state)  \(formatSeconds(Date().timeIntervalSince(r.started)))"
            if r.total > 0 {
                let width = 20
                let filled = min(width, r.done * width / max(1, r.total))
                line += "  [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(r.done)/\(r.total)"
            }
            if !r.message.isEmpty { line += "  \(r.message)" }
            lines.append(line)
        }
        if !lines.isEmpty {
            FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        drawnLines = lines.count
    }
}
