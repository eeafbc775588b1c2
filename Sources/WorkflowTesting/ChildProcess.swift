import Foundation

/// A program run as a child process with its standard output and error
/// together, for tests that drive the command line or a helper script.
public enum ChildProcess {
    /// Starts `executable` with `arguments` in `directory`, with `environment`
    /// changes over this process's environment (a nil value removes the
    /// variable); both output streams go to the returned pipe.
    public static func start(_ executable: URL, _ arguments: [String], in directory: URL? = nil,
                             environment changes: [String: String?] = [:]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var environment = ProcessInfo.processInfo.environment
        for (name, value) in changes { environment[name] = value }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        return (process, pipe)
    }

    /// Runs `executable` to completion: its exit status and its output.
    @discardableResult
    public static func run(_ executable: URL, _ arguments: [String], in directory: URL? = nil,
                           environment changes: [String: String?] = [:]) throws -> (status: Int32, output: String) {
        let (process, pipe) = try start(executable, arguments, in: directory, environment: changes)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
