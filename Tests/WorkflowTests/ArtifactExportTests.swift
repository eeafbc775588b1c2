import XCTest
@testable import Workflow

/// Writes `emit` outputs as `value.txt` plus the names of the record's outputs,
/// so tests can see that an exporter ran and what it was given.
private struct EmitLayoutExporter: ArtifactExporter {
    func handles(_ request: ArtifactExportRequest) -> Bool { request.kind == "emit" && request.output == "out" }

    func export(_ request: ArtifactExportRequest, to directory: URL) throws {
        let value = try String(contentsOf: request.url, encoding: .utf8)
        try "\(request.stage): \(value)".write(to: directory.appendingPathComponent("value.txt"), atomically: false, encoding: .utf8)
        try request.outputs.keys.sorted().joined(separator: ",")
            .write(to: directory.appendingPathComponent("outputs.txt"), atomically: false, encoding: .utf8)
    }
}

final class ArtifactExportTests: XCTestCase {
    private var dir: URL!
    private var engine: Engine!

    override func setUp() async throws {
        dir = Fixture.temporaryDirectory()
        engine = try Fixture.engine(dir.appendingPathComponent("cache"))
        let record = try await engine.run(engine.load(yaml: Fixture.chain))
        XCTAssertTrue(record.succeeded)
    }

    override func tearDown() { Fixture.remove(dir) }

    private func export(_ artifact: String, to name: String, raw: Bool = false) throws -> CacheMaintenance.ExportResult {
        let parts = artifact.split(separator: ".").map(String.init)
        let maintenance = CacheMaintenance(store: engine.store)
        return try maintenance.exportArtifact(maintenance.findRecord(parts[0]), output: parts[1],
                                              to: dir.appendingPathComponent(name), exporters: [EmitLayoutExporter()], raw: raw)
    }

    private func text(_ path: String) throws -> String {
        try String(contentsOf: dir.appendingPathComponent(path), encoding: .utf8)
    }

    func test_export_whenAnExporterHandlesTheKind_writesItsLayoutIntoTheDirectory() throws {
        guard case .layout(let url) = try export("a.out", to: "out") else { return XCTFail("not exported as a layout") }
        XCTAssertEqual(url.path, dir.appendingPathComponent("out").path)
        XCTAssertEqual(try text("out/value.txt"), "a: 2")
        XCTAssertEqual(try text("out/outputs.txt"), "out")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/out").path))
    }

    func test_export_whenNoExporterHandlesTheKind_copiesTheArtifact() throws {
        guard case .copy(let url) = try export("c.table", to: "out") else { return XCTFail("not copied") }
        XCTAssertEqual(url.path, dir.appendingPathComponent("out/table").path)
        XCTAssertEqual(try text("out/table/sum.csv"), "sum,1\n")
    }

    func test_export_raw_copiesEvenWhatAnExporterHandles() throws {
        guard case .copy(let url) = try export("a.out", to: "out", raw: true) else { return XCTFail("not copied") }
        XCTAssertEqual(url.path, dir.appendingPathComponent("out/out").path)
        XCTAssertEqual(try text("out/out"), "2")
    }

    func test_export_layoutIntoANonEmptyDirectory_isRefusedWithTheRemedy() throws {
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("out"), withIntermediateDirectories: true)
        try "x".write(to: dir.appendingPathComponent("out/mine.txt"), atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try export("a.out", to: "out")) { error in
            XCTAssertEqual("\(error)", "'\(dir.appendingPathComponent("out").path)' is not empty; export a.out into a new or empty directory, or add --raw for a plain copy")
        }
    }

    func test_export_unknownOutput_listsTheStagesOutputs() throws {
        XCTAssertThrowsError(try export("a.outt", to: "out")) { error in
            XCTAssertEqual("\(error)", "stage 'a' has no output 'outt'; outputs: out")
        }
    }
}
