import Foundation

/// Summarises an artifact for `ssmflow cache show` (the Stages module
/// registers one for HDF5 arrays: dtype, shape, min/max/mean, NaN count).
///
/// Contract: `summary` reads `url` (a file or directory in the cache; never
/// write to it) and returns human-readable lines, or nil when it does not
/// understand the artifact, so the next inspector (and finally the engine's
/// plain-file summary) is tried.
public protocol ArtifactInspector: Sendable {
    func summary(of url: URL) throws -> [String]?
}

/// An output of a stage in a run: `stage.output`.
public struct ArtifactAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    public var stage: String
    public var output: String

    public init(stage: String, output: String) {
        self.stage = stage
        self.output = output
    }

    public var description: String { "\(stage).\(output)" }
}

/// Called after every run (also after a failed one) with the run record and the
/// cached location of every output that exists; writes extra files (an HTML
/// report, a summary table) into `runDirectory` (`runs/<id>/` in the cache) and
/// returns lines for the terminal. A thrown error is printed as a warning and
/// does not change the run's outcome.
public protocol RunFinisher: Sendable {
    func finish(run: RunRecord, artifacts: [ArtifactAddress: URL], runDirectory: URL) throws -> [String]
}

/// The engine's own summary of a plain file or directory: size and type.
public struct PlainArtifactInspector: ArtifactInspector {
    public init() {}

    public func summary(of url: URL) throws -> [String]? {
        let digest = try ArtifactDigest.of(url)
        if digest.isDirectory {
            var lines = ["directory, \(digest.fileCount) files, \(formatBytes(digest.size))"]
            for file in try regularFiles(under: url).prefix(20) {
                let size = ((try? FileManager.default.attributesOfItem(atPath: url.appendingPathComponent(file).path))?[.size] as? NSNumber)?.int64Value ?? 0
                lines.append("  \(file)  \(formatBytes(size))  \(fileType(url.appendingPathComponent(file)))")
            }
            return lines
        }
        return ["\(fileType(url)), \(formatBytes(digest.size))"]
    }

    /// A file's type from its first bytes.
    func fileType(_ url: URL) -> String {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return "unreadable" }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 512)) ?? Data()
        if head.starts(with: [0x89, 0x48, 0x44, 0x46]) { return "HDF5 data" }
        if head.starts(with: [0x1f, 0x8b]) { return "gzip data" }
        if head.starts(with: Array("# vtk DataFile".utf8)) { return "VTK legacy data" }
        if head.starts(with: Array("NRRD".utf8)) { return "NRRD image" }
        if head.starts(with: [0x89, 0x50, 0x4e, 0x47]) { return "PNG image" }
        if head.isEmpty { return "empty" }
        if String(data: head, encoding: .utf8) != nil {
            let first = head.first(where: { $0 != 0x20 && $0 != 0x0a })
            return first == UInt8(ascii: "{") || first == UInt8(ascii: "[") ? "JSON text" : "text"
        }
        return "binary data"
    }
}

/// `1.2 MB`-style sizes (decimal units).
public func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
    return unit == 0 ? "\(bytes) B" : "\(String(format: "%.1f", value)) \(units[unit])"
}

/// A stage a run is about to compute, as a `RunPreflight` sees it.
public struct PreflightStage: Sendable {
    public var id: String
    public var kind: String
    public var params: ParamValue

    public init(id: String, kind: String, params: ParamValue) {
        self.id = id
        self.kind = kind
        self.params = params
    }
}

/// Called once before a run's first stage with the stages it will compute
/// (those `concerns` picks, and only when there are some): checks that the
/// machine can do them (a GPU that works, say) and returns facts about it for
/// the run record's `environment` (provenance, never part of a key). A thrown
/// error stops the run before any stage starts (exit status 2).
public protocol RunPreflight: Sendable {
    func concerns(kind: String, params: ParamValue) -> Bool
    func check(_ stages: [PreflightStage]) throws -> [String: String]
}
