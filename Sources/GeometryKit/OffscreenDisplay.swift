import CVTKShim
import Foundation

/// The X display VTK renders into. Machines without a screen have none, and
/// VTK's off-screen mode still needs one, so when `DISPLAY` is unset (or names
/// a display that does not answer) the first render starts one private Xvfb
/// for this process and points `DISPLAY` at it.
///
/// The Xvfb runs under a small shell guard that holds a pipe from this process:
/// when the process exits, normally or not, the pipe closes and the guard kills
/// the Xvfb, so no server outlives its user.
public enum OffscreenDisplay {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: (display: String, guardian: Process, lifeline: Pipe)?

    /// The display name in use after `ensure()` (e.g. `:99`), or nil before.
    public static var current: String? {
        lock.lock()
        defer { lock.unlock() }
        return started?.display ?? ProcessInfo.processInfo.environment["DISPLAY"]
    }

    /// Makes sure `DISPLAY` names a working X server, starting a private Xvfb
    /// (once per process) when it does not. Throws `VTKError` naming the
    /// package to install when Xvfb is missing.
    public static func ensure() throws {
        lock.lock()
        defer { lock.unlock() }
        if started != nil || cvtk_display_available() != 0 { return }
        started = try startXvfb()
        setenv("DISPLAY", started!.display, 1)
    }

    private static func findXvfb() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let dirs = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        return dirs.map { "\($0)/Xvfb" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private static func startXvfb() throws -> (String, Process, Pipe) {
        guard let xvfb = findXvfb() else {
            throw VTKError("off-screen rendering needs an X server, but DISPLAY is not set and Xvfb "
                + "is not installed; install the Debian package 'xvfb' (scripts/setup.sh does) "
                + "or set DISPLAY to a running X server")
        }
        let log = FileManager.default.temporaryDirectory
            .appendingPathComponent("ssmflow-xvfb-\(getpid()).log")
        // -displayfd lets Xvfb pick a free display number itself (no race with
        // other processes) and report it once it accepts connections; -noreset
        // keeps it from resetting (and refusing connections for a moment)
        // whenever its last client disconnects.
        let script = """
            exec 4>&1
            "$0" -displayfd 4 -nolisten tcp -noreset -screen 0 2560x1600x24 4>&4 >/dev/null 2>"$1" </dev/null &
            pid=$!
            exec 1>/dev/null 4>&-
            read -r _ || true
            kill "$pid" 2>/dev/null
            """
        let guardian = Process()
        guardian.executableURL = URL(fileURLWithPath: "/bin/sh")
        guardian.arguments = ["-c", script, xvfb, log.path]
        let lifeline = Pipe(), report = Pipe()
        guardian.standardInput = lifeline
        guardian.standardOutput = report
        guardian.standardError = FileHandle.nullDevice
        do { try guardian.run() } catch {
            throw VTKError("cannot start Xvfb (\(xvfb)) for off-screen rendering: \(error)")
        }
        // Reads until the display number's newline, or EOF when Xvfb died.
        var bytes = Data()
        let reader = report.fileHandleForReading
        while !bytes.contains(UInt8(ascii: "\n")) {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            bytes.append(chunk)
        }
        let number = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !number.isEmpty, Int(number) != nil else {
            let detail = (try? String(contentsOf: log, encoding: .utf8))?
                .split(separator: "\n").suffix(3).joined(separator: " / ") ?? ""
            throw VTKError("Xvfb (\(xvfb)) did not start for off-screen rendering"
                + (detail.isEmpty ? "" : ": \(detail)") + "; see \(log.path)")
        }
        return (":\(number)", guardian, lifeline)
    }

    /// Stops the private Xvfb, if one was started (it also stops when the process exits).
    public static func shutdown() {
        lock.lock()
        defer { lock.unlock() }
        guard let s = started else { return }
        try? s.lifeline.fileHandleForWriting.close()
        s.guardian.waitUntilExit()
        started = nil
        unsetenv("DISPLAY")
    }
}
