import Foundation
import ShapeModel
import GeometryKit
import Workflow

/// The reference's on-disk layout of an augmentation (ShapeWorks
/// `DataAugmentationUtils`), written from a training pool and a PCA model:
///
/// - `TotalData.csv`: no header; image path, particles path, K raw world scores;
///   originals first. Paths are relative to the export directory.
/// - `Generated-Images/<id>.nrrd`, `Generated-Particles/<id>.particles` (local
///   frame); the training subjects likewise under `Original-Images/`,
///   `Original-Particles/<id>_local.particles`.
/// - `PCA_Particle_Info/`: `mean.particles`, `pcamode<k>.particles` (unit modes
///   as M × 3), `eigenvalues.txt`, `original_PCA_scores.txt` (N × K).
public enum ReferenceAugmentationLayout {
    /// Image and particles paths of pool sample i in the reference layout.
    public static func paths(_ pool: TrainingPool, _ i: Int) throws -> (image: String, particles: String) {
        let id = try pool.id(i)
        return pool.isOriginal(i)
            ? ("Original-Images/\(id).nrrd", "Original-Particles/\(id)_local.particles")
            : ("Generated-Images/\(id).nrrd", "Generated-Particles/\(id).particles")
    }

    /// The `TotalData.csv` text of a pool: one line per sample, originals first.
    public static func totalData(_ pool: TrainingPool) throws -> String {
        var text = ""
        for i in 0..<pool.count {
            let (image, particles) = try paths(pool, i)
            // Swift's shortest round-trip form: exact and byte-stable.
            text += ([image, particles] + (try pool.scores(i)).map { "\($0)" }).joined(separator: ",") + "\n"
        }
        return text
    }

    /// Writes the reference layout of `pool` (a `pool` artifact directory) and
    /// `pca` (a `pca` artifact directory or `pca.h5`) into `directory`.
    public static func writeReferenceLayout(pool poolURL: URL, pca pcaURL: URL, to directory: URL) throws {
        let pool = try TrainingPool(directory: poolURL)
        let model = try PCAModel(contentsOf: pcaURL)
        let fm = FileManager.default
        for folder in ["Generated-Images", "Generated-Particles", "Original-Images", "Original-Particles", "PCA_Particle_Info"] {
            try fm.createDirectory(at: directory.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        for i in 0..<pool.count {
            let (image, particles) = try paths(pool, i)
            // Raw NRRD: ~30× faster to write than gzip for 5000 float images.
            try pool.image(i).writeNRRD(to: directory.appendingPathComponent(image), type: .float, encoding: .raw)
            try pool.localParticles(i).write(to: directory.appendingPathComponent(particles))
        }
        try totalData(pool).write(to: directory.appendingPathComponent("TotalData.csv"), atomically: true, encoding: .utf8)

        let info = directory.appendingPathComponent("PCA_Particle_Info")
        try ParticleSet(flattened: model.mean).write(to: info.appendingPathComponent("mean.particles"))
        let n = model.modeCount
        for k in 0..<model.numModes {
            let column = (0..<model.mean.count).map { model.modes[$0 * n + k] }
            try ParticleSet(flattened: column).write(to: info.appendingPathComponent("pcamode\(k).particles"))
        }
        try model.eigenvalues.map { "\($0)\n" }.joined()
            .write(to: info.appendingPathComponent("eigenvalues.txt"), atomically: true, encoding: .utf8)
        try model.scores.map { $0.map { "\($0)" }.joined(separator: " ") + "\n" }.joined()
            .write(to: info.appendingPathComponent("original_PCA_scores.txt"), atomically: true, encoding: .utf8)
    }
}
