import Foundation
import Workflow

/// Live progress on standard error: on a terminal, a redrawn block with one
/// line per running stage (state, elapsed, progress); otherwise (CI, a pipe)
/// plain lines as stages start and finish.
final class ProgressDisplay: @unchecked Sendable {
    private struct Running {
        var started: Date
        var state: String
        var done = 0
        var total = 0
        var message = ""
    }

    private let lock = NSLock()
    private let interactive: Bool
    private let verbose: Bool
    private var running: [String: Running] = [:]
    private var order: [String] = []
    private var drawnLines = 0
    private var ticker: Task<Void, Never>?

    init(verbose: Bool) {
        self.verbose = verbose
        let env = ProcessInfo.processInfo.environment
        interactive = isatty(STDERR_FILENO) == 1 && env["CI"] == nil && env["TERM"] != "dumb"
        if interactive {
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

    private func handle(_ event: RunEvent) {
        lock.withLock {
            clear()
            switch event {
            case let .started(stage, reasons):
                running[stage] = Running(started: Date(), state: "running")
                order.append(stage)
                if !interactive { emit("\(stage): running (\(reasons.joined(separator: "; ")))") }
            case let .progress(stage, done, total, message):
                running[stage]?.done = done
                running[stage]?.total = total
                running[stage]?.message = message
            case let .log(stage, line):
                if verbose { emit("[\(stage)] \(line)") }
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

    private func emit(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
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
