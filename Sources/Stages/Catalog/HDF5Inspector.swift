import Foundation
import HDF5Kit
import Workflow

/// `ssmflow cache show` for HDF5 artifacts: every dataset's type, shape,
/// min / max / mean and NaN count, and the attributes, for an `.h5` file or for
/// each `.h5` file in an artifact directory (a pool, a cohort, the loaders).
public struct HDF5Inspector: ArtifactInspector {
    /// At most this many files of a directory are described.
    public var maxFiles = 12

    public init() {}

    public func summary(of url: URL) throws -> [String]? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return nil }
        if !isDirectory.boolValue {
            guard Self.isHDF5(url) else { return nil }
            return try HDF5Summary.describe(url).components(separatedBy: "\n")
        }
        let files = (FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL } ?? [])
            .filter { Self.isHDF5($0) }
            .sorted { $0.path < $1.path }
        guard !files.isEmpty else { return nil }
        var lines: [String] = []
        for file in files.prefix(maxFiles) {
            let relative = String(file.path.dropFirst(url.path.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            lines.append("\(relative):")
            lines += try HDF5Summary.describe(file).components(separatedBy: "\n").dropFirst().map { "  " + $0 }
        }
        if files.count > maxFiles { lines.append("... and \(files.count - maxFiles) more HDF5 files") }
        return lines
    }

    /// Whether the file starts with the HDF5 signature.
    static func isHDF5(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 8)) ?? Data()
        return head == Data([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a])
    }
}
