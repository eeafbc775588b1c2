import XCTest

/// Every example in `ssmflow --help` and its subcommands' help runs against the
/// project's own workflow, through the `ssmflow` executable that
/// `swift build --build-tests` puts next to the tests.
///
/// `run` examples are run as `plan` with the same arguments (they parse and
/// plan; training for real is the end-to-end script's job); `predict` examples
/// run as written and must stop only at the model this cache has not trained,
/// with the command that trains it (`PredictCommandTests` predicts for real);
/// everything else
/// runs as written, on a private cache holding a tiny run up to `augment`.
final class HelpExamplesTests: XCTestCase {
    private static let repository = SSMFlowProcess.repository

    private var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("help-examples-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work.appendingPathComponent("cache"), withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: work) }

    private func binary() throws -> URL { try SSMFlowProcess.binary() }

    @discardableResult
    private func ssmflow(_ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        try SSMFlowProcess.run(arguments, in: directory)
    }

    /// A fresh directory where `workflows/` and `cache/` are those of the test.
    private func scratch(_ name: String) throws -> URL {
        let dir = work.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("workflows"),
                                                   withDestinationURL: Self.repository.appendingPathComponent("workflows"))
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("cache"),
                                                   withDestinationURL: work.appendingPathComponent("cache"))
        return dir
    }

    /// The help of `path` and, recursively, of every subcommand it lists.
    private func helpTexts(_ path: [String], in dir: URL) throws -> [(path: [String], text: String)] {
        let help = try ssmflow(path + ["--help"], in: dir)
        XCTAssertEqual(help.status, 0, "ssmflow \((path + ["--help"]).joined(separator: " ")): \(help.output)")
        var result = [(path, help.output)]
        var inSubcommands = false
        for line in help.output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("SUBCOMMANDS:") { inSubcommands = true; continue }
            if inSubcommands {
                if line.isEmpty || !line.hasPrefix("  ") { if !line.isEmpty { inSubcommands = false }; continue }
                let name = line.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? ""
                if name.isEmpty || name == "help" || name.hasPrefix("See") { continue }
                result += try helpTexts(path + [name], in: dir)
            }
        }
        return result
    }

    /// The example command lines of a help text (lines starting with `ssmflow `).
    static func examples(in help: String) -> [String] {
        help.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("ssmflow ") }
            .map { line in
                // A trailing comment or a shell pipeline is not part of the ssmflow command.
                var command = line
                if let hash = command.range(of: "  #") { command = String(command[..<hash.lowerBound]) }
                if let pipe = command.range(of: " | ") { command = String(command[..<pipe.lowerBound]) }
                return command.trimmingCharacters(in: .whitespaces)
            }
    }

    func test_everyHelpExample_runsAgainstTheFemurWorkflow() throws {
        _ = try binary()
        let setup = try scratch("setup")
        // What the cache examples read: a tiny run up to 'augment' (coarser still,
        // for speed: the examples do not depend on the values), twice (for 'diff').
        for _ in 0..<2 {
            let run = try ssmflow(["run", "workflows/femur_deepssm.yaml", "--tiny-test", "--until", "augment",
                                   "--set", "femur-cohort.voxel_size=3", "--set", "femur-cohort.particles=64"], in: setup)
            XCTAssertEqual(run.status, 0, run.output)
            guard run.status == 0 else { return }
        }
        let show = try ssmflow(["cache", "show", "augment"], in: setup).output
        let key = try XCTUnwrap(show.split(separator: "\n").first { $0.hasPrefix("record ") }).dropFirst("record ".count)
        let objects = try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("cache/objects").path)
        XCTAssertFalse(objects.isEmpty)
        let runIDs = try ssmflow(["runs"], in: setup).output.split(separator: "\n")
            .compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0.first?.isNumber ?? false }
        XCTAssertEqual(runIDs.count, 2)
        var runPlaceholders: [String] = []

        var seen = Set<String>()
        var count = 0
        for (path, text) in try helpTexts([], in: setup) {
            for example in Self.examples(in: text) where seen.insert(example).inserted {
                var words = example.split(separator: " ").map(String.init).dropFirst().map { $0 }
                if words.first == "exec-stage" { continue }  // hidden; needs a key a cluster submitter computed
                if words.first == "run" {
                    // Parse and plan what the run would do, without training.
                    words[0] = "plan"
                    if let i = words.firstIndex(of: "--executor") { words.removeSubrange(i...(i + 1)) }
                }
                // Placeholders of digests: the real ones of this cache.
                words = try words.map { word in
                    if word == "3fa9c2" { return String(key.prefix(6)) }
                    // A run id as written in the help (20261127-0712): this cache's, in order.
                    if word.count == 13, word.allSatisfy({ $0.isNumber || $0 == "-" }), runIDs.count == 2 {
                        if !runPlaceholders.contains(word) { runPlaceholders.append(word) }
                        return runIDs[min(runPlaceholders.firstIndex(of: word)!, 1)]
                    }
                    guard word.contains("…") else { return word }
                    return try self.objectDirectory(for: word, example: example, setup: setup)
                }
                let result = try ssmflow(words, in: try scratch("example-\(count)"))
                count += 1
                if words.first == "predict" {
                    XCTAssertEqual(result.status, 1, "example of 'ssmflow predict': \(example)\n\(result.output)")
                    XCTAssertTrue(result.output.contains("--until deepssm-train"), "example of 'ssmflow predict': \(example)\n\(result.output)")
                    continue
                }
                XCTAssertEqual(result.status, 0, "example of 'ssmflow \(path.joined(separator: " "))' failed: \(example)\n\(result.output)")
            }
        }
        XCTAssertGreaterThan(count, 20, "fewer examples than expected; is the help text parsed?")
    }

    func test_unknownStageIds_suggestTheWorkflowsId() throws {
        _ = try binary()
        let dir = try scratch("suggest")
        let wf = "workflows/femur_deepssm.yaml"
        let cases: [([String], String)] = [
            (["plan", wf, "--set", "train.epochs=60"], "deepssm-train"),
            (["explain", wf, "train"], "deepssm-train"),
            (["plan", wf, "--until", "train"], "deepssm-train"),
            (["plan", wf, "--force", "predict"], "deepssm-predict"),
            (["plan", wf, "--only", "analyze"], "deepssm-analyze"),
            (["plan", wf, "--until", "cohort"], "femur-cohort"),
            (["plan", wf, "--until", "deepssm-trian"], "deepssm-train"),
        ]
        for (arguments, suggestion) in cases {
            let result = try ssmflow(arguments, in: dir)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.output)")
            XCTAssertTrue(result.output.contains("did you mean '\(suggestion)'?"), "\(arguments): \(result.output)")
        }
    }

    /// The cached directory a `cache/objects/ab/ab12…` placeholder stands for.
    private func objectDirectory(for placeholder: String, example: String, setup: URL) throws -> String {
        let output: String
        switch (example.contains("cohort export"), placeholder.hasPrefix("cache/objects/37")) {
        case (true, _): output = "femur-cohort.cohort"
        case (false, true): output = "augment.pool"
        default: output = "augment.pca"
        }
        let (stage, name) = (String(output.split(separator: ".")[0]), String(output.split(separator: ".")[1]))
        let show = try ssmflow(["cache", "show", stage], in: setup).output
        // The outputs are listed as "  NAME  ...  /path/to/cache/objects/xx/digest".
        guard let line = show.split(separator: "\n").first(where: {
            $0.trimmingCharacters(in: .whitespaces).hasPrefix(name + " ") || $0.trimmingCharacters(in: .whitespaces).hasPrefix(name + ":")
        }), let path = line.split(separator: " ").last(where: { $0.contains("/objects/") }) else {
            XCTFail("cannot find output '\(name)' of '\(stage)' in:\n\(show)")
            return placeholder
        }
        return String(path)
    }
}
