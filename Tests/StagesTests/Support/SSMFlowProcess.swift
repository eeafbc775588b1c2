import Foundation
import XCTest

/// The `ssmflow` executable that `swift build --build-tests` puts next to the
/// tests, run as a user would (no terminal, so plain progress lines).
enum SSMFlowProcess {
    /// The repository root (for `workflows/`).
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func binary() throws -> URL {
        let candidates = [Bundle.main.bundleURL, URL(fileURLWithPath: CommandLine.arguments[0])]
            .flatMap { [$0.deletingLastPathComponent(), $0] }
            .map { $0.appendingPathComponent("ssmflow") }
        guard let url = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("the ssmflow executable is not built next to the tests (run 'swift build --build-tests')")
        }
        return url
    }

    /// Runs ssmflow with `arguments` in `directory`; stdout and stderr together.
    @discardableResult
    static func run(_ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        env["CI"] = "1"
        env["SSMFLOW_CACHE"] = nil
        env["COLUMNS"] = "200"
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
