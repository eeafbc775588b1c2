import Foundation
import XCTest
import WorkflowTesting

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
        try ChildProcess.run(try binary(), arguments, in: directory,
                             environment: ["CI": "1", "SSMFLOW_CACHE": nil, "COLUMNS": "200"])
    }
}
