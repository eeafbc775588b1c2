import Foundation
import Workflow

/// `ssmflow cache show` for cohort artifacts: subjects, grid, spacing,
/// particles, intensity range and source, read from `cohort.json`, followed by
/// the HDF5 summary of `subjects.h5`.
public struct CohortInspector: ArtifactInspector {
    public init() {}

    public func summary(of url: URL) throws -> [String]? {
        let metadataURL = url.appendingPathComponent("cohort.json")
        guard FileManager.default.fileExists(atPath: metadataURL.path) else { return nil }
        let m = try Cohort(directory: url).metadata()
        func list(_ values: [Double]) -> String { values.map { String(format: "%g", $0) }.joined(separator: " × ") }
        let sides = Dictionary(grouping: m.ids, by: { $0.hasSuffix("_R") ? "R" : ($0.hasSuffix("_L") ? "L" : "?") })
        var lines = [
            "cohort: \(m.ids.count) subjects (\(m.ids.first ?? "") … \(m.ids.last ?? "")), \(sides["L"]?.count ?? 0) left, \(sides["R"]?.count ?? 0) right",
            "grid: \(m.dims.map(String.init).joined(separator: " × ")) voxels, spacing \(list(m.spacing)) mm, origin (\(m.origin.map { String(format: "%g", $0) }.joined(separator: ", "))) mm",
            "particles: \(m.num_particles) per shape (local and world frames)",
            "intensity range: \(String(format: "%.1f", m.intensity_range.first ?? 0)) … \(String(format: "%.1f", m.intensity_range.last ?? 0))",
            "source: \(m.source)",
        ]
        let meshes = (try? FileManager.default.contentsOfDirectory(atPath: url.appendingPathComponent("meshes").path).count) ?? 0
        lines.append("files: subjects.h5, \(meshes) meshes, mean/mean_dense.vtk, mean/mean_particles.particles")
        return lines + ((try? HDF5Inspector().summary(of: url)) ?? nil ?? [])
    }
}
