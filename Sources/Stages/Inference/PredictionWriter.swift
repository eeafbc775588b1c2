import Foundation
import GeometryKit
import ShapeModel
import Workflow

/// Writes what `ssmflow predict` and `deepssm-infer` give per image, into
/// `DIR/NAME/` (NAME: the image's file name without `.nrrd`/`.nhdr`):
///
/// - `particles_image.particles`: predicted particles in the image's own frame
/// - `particles_model.particles`: the same in the model's (PCA, world) frame
/// - `surface.vtk`, `surface.ply`: the mean mesh warped onto the prediction, image frame
/// - `transform.json`: the registration (reference → image), the model → image
///   affine map (4 × 4, row-major), mirroring, and the registration quality
///
/// and over all images `DIR/summary.csv` (name, correlation, overlap, mirrored,
/// scale, poor). Deterministic: same inputs, same bytes.
public enum PredictionWriter {
    /// The per-image directory name for an image file.
    public static func name(of image: URL) -> String {
        var name = image.lastPathComponent
        for suffix in [".nrrd", ".nhdr", ".gz"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        return name
    }

    /// Refuses images whose results would land in one directory (same file name).
    public static func checkUniqueNames(_ images: [URL]) throws {
        var seen: [String: URL] = [:]
        for image in images {
            if let other = seen[name(of: image)] {
                throw StageFailure("\(other.path) and \(image.path) would both write to '\(name(of: image))/'; rename one or predict them in separate runs")
            }
            seen[name(of: image)] = image
        }
    }

    /// What `transform.json` holds.
    struct Transform: Encodable {
        var image: String
        var registration: ImageAlignment
        var modelToImage: [Double]
        var worldToReference: [Double]
        var poor: Bool
        var warning: String?
        enum CodingKeys: String, CodingKey {
            case image, registration, poor, warning
            case modelToImage = "model_to_image_4x4"
            case worldToReference = "model_to_reference_4x4"
        }
    }

    /// The 4 × 4 row-major matrix of an affine map.
    static func matrix(_ f: (SIMD3<Double>) -> SIMD3<Double>) -> [Double] {
        let o = f(.zero)
        let columns = [SIMD3<Double>(1, 0, 0), SIMD3(0, 1, 0), SIMD3(0, 0, 1)].map { f($0) - o }
        var m: [Double] = []
        for row in 0..<3 { m += [columns[0][row], columns[1][row], columns[2][row], o[row]] }
        return m + [0, 0, 0, 1]
    }

    /// The warning for a poor registration, or nil.
    public static func warning(_ a: ImageAlignment) -> String? {
        guard a.isPoor else { return nil }
        return String(format: "registration looks poor: correlation %.2f with the training reference (below %.2f) or %.0f %% of the reference inside the image (below %.0f %%); the prediction may be wrong: check that the image shows the anatomy the model was trained on, whole, and view surface.vtk over the image",
                      a.correlation, ImageAligner.warnBelow, a.overlap * 100, ImageAligner.minimumOverlap * 100)
    }

    /// Writes one image's results into `directory/NAME/`; returns that directory.
    @discardableResult
    public static func write(_ p: NewImagePredictor.Prediction, model: InferenceModel, into directory: URL) throws -> URL {
        let out = directory.appendingPathComponent(name(of: p.image))
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try p.imageParticles.write(to: out.appendingPathComponent("particles_image.particles"))
        try p.modelParticles.write(to: out.appendingPathComponent("particles_model.particles"))
        try p.surface.write(to: out.appendingPathComponent("surface.vtk"))
        try p.surface.write(to: out.appendingPathComponent("surface.ply"))
        let transform = Transform(image: p.image.lastPathComponent, registration: p.alignment,
                                  modelToImage: matrix { p.alignment.apply(model.worldToImage.apply($0)) },
                                  worldToReference: matrix(model.worldToImage.apply), poor: p.alignment.isPoor,
                                  warning: warning(p.alignment))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(transform).write(to: out.appendingPathComponent("transform.json"), options: .atomic)
        return out
    }

    /// Writes `summary.csv` for every image predicted.
    public static func writeSummary(_ predictions: [NewImagePredictor.Prediction], into directory: URL) throws {
        var text = "image,correlation,overlap,mirrored,scale,poor\n"
        for p in predictions {
            let a = p.alignment
            text += String(format: "%@,%.4f,%.4f,%@,%.4f,%@\n", name(of: p.image), a.correlation, a.overlap,
                           a.mirrored ? "true" : "false", a.scale, a.isPoor ? "true" : "false")
        }
        try Data(text.utf8).write(to: directory.appendingPathComponent("summary.csv"), options: .atomic)
    }
}
