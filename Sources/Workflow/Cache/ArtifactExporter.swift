import Foundation

/// One cached artifact on its way out of `ssmflow cache export`: which stage
/// kind made it, under which output name, where it lies in the cache, and the
/// same record's other outputs (an export may need them, as an augmentation
/// pool needs its PCA model).
public struct ArtifactExportRequest: Sendable {
    /// The stage kind that produced the artifact (e.g. `augment`).
    public var kind: String
    /// The stage id in its workflow (e.g. `augment`).
    public var stage: String
    /// The output name (e.g. `pool`).
    public var output: String
    /// The artifact in the cache: read-only, a file or a directory.
    public var url: URL
    /// Every output of the same record, by name, this one included (read-only).
    public var outputs: [String: URL]
    /// The artifacts the record's stage read, by input name (read-only; an
    /// input may be missing from the cache after a gc: check before reading).
    public var inputs: [String: URL]

    public init(kind: String, stage: String, output: String, url: URL, outputs: [String: URL],
                inputs: [String: URL] = [:]) {
        self.kind = kind
        self.stage = stage
        self.output = output
        self.url = url
        self.outputs = outputs
        self.inputs = inputs
    }
}

/// Writes an artifact out in its field's own layout for `ssmflow cache export`
/// (the Stages module registers one that writes an augmentation pool as the
/// reference's `Generated-Images/`, `TotalData.csv`, ...).
///
/// Contract: `handles` decides from the request alone (kind, output name) and
/// reads nothing; `export` is called only when it said yes, writes into
/// `directory` (which exists and is empty) and never into the cache. Artifacts
/// no exporter handles are copied as they are.
public protocol ArtifactExporter: Sendable {
    func handles(_ request: ArtifactExportRequest) -> Bool
    func export(_ request: ArtifactExportRequest, to directory: URL) throws
}

extension CacheMaintenance {
    /// What `exportArtifact` did.
    public enum ExportResult: Sendable, Equatable {
        /// An exporter wrote its layout into the directory.
        case layout(URL)
        /// The artifact was copied as it is, to `directory/<output>`.
        case copy(URL)
    }

    /// Exports output `output` of `record`: through the first of `exporters`
    /// that handles it, into `directory` (which must be absent or empty, so a
    /// layout never mixes with other files), else as a plain copy to
    /// `directory/<output>`. `raw` skips the exporters.
    public func exportArtifact(_ record: StageRecord, output: String, to directory: URL,
                               exporters: [any ArtifactExporter], raw: Bool = false) throws -> ExportResult {
        guard let stored = record.outputs[output] else {
            throw CacheError("stage '\(record.stage)' has no output '\(output)'; outputs: \(record.outputs.keys.sorted().joined(separator: ", "))", invalidInput: true)
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw CacheError("'\(directory.path)' is a file, not a directory; export \(record.stage).\(output) into a new or empty directory", invalidInput: true)
        }
        let request = ArtifactExportRequest(
            kind: record.manifest.kind, stage: record.stage, output: output,
            url: store.objectURL(stored.digest.hex),
            outputs: record.outputs.mapValues { store.objectURL($0.digest.hex) },
            inputs: record.manifest.inputs.mapValues { store.objectURL($0) })
        guard !raw, let exporter = exporters.first(where: { $0.handles(request) }) else {
            return .copy(try export(stored, named: output, to: directory))
        }
        let fm = FileManager.default
        for (name, url) in request.outputs.sorted(by: { $0.key < $1.key }) where !fm.fileExists(atPath: url.path) {
            throw CacheError("output '\(name)' of stage '\(record.stage)' (object \(url.lastPathComponent.prefix(12))) is missing from the cache; run the workflow again, then export")
        }
        if let existing = try? fm.contentsOfDirectory(atPath: directory.path), !existing.isEmpty {
            throw CacheError("'\(directory.path)' is not empty; export \(record.stage).\(output) into a new or empty directory, or add --raw for a plain copy", invalidInput: true)
        }
        // An exporter reads the objects itself: rehash them first, so a corrupt
        // object is never handed on under an unchanged file signature.
        for (name, artifact) in record.outputs.sorted(by: { $0.key < $1.key }) {
            if case .corrupt(let why) = store.verify(artifact, full: true) {
                throw CacheError("output '\(name)' of stage '\(record.stage)' is corrupt in the cache (\(why)); nothing was exported; run 'ssmflow cache verify --repair', then run the workflow again to recompute it")
            }
        }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        try exporter.export(request, to: directory)
        return .layout(directory)
    }
}
