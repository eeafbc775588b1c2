import Foundation
import ShapeModel
import HDF5Kit
import Workflow

/// The `pca` artifact of stage `augment`: `pca.h5` with `mean` float64 [3M],
/// `eigenvalues` float64 [N], `modes` float64 [3M, N] (unit columns, descending
/// eigenvalue), `scores` float64 [N, K] and the root attribute `num_modes` = K.
extension PCAModel {
    /// The file name inside a `pca` artifact directory.
    public static let fileName = "pca.h5"

    /// The model connected to a stage's input `name`; a file that cannot be
    /// read becomes a stage failure that names it and says to rerun `augment`.
    static func input(_ name: String = "pca", of context: StageContext) throws -> PCAModel {
        do {
            return try PCAModel(contentsOf: try context.input(name))
        } catch let error as HDF5Error {
            throw StageFailure("cannot read the PCA model of input '\(name)': \(error); rerun 'augment'")
        }
    }

    /// Reads a model from `pca.h5`, or from the `pca` artifact directory holding it.
    public init(contentsOf url: URL) throws {
        var isDirectory: ObjCBool = false
        FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        let file = isDirectory.boolValue ? url.appendingPathComponent(Self.fileName) : url
        let h5 = try HDF5File(contentsOf: file)
        defer { h5.close() }
        let mean = try h5.read("mean", as: Double.self)
        let eigenvalues = try h5.read("eigenvalues", as: Double.self)
        let n = eigenvalues.count
        let modes = try h5.read("modes", as: Double.self, shape: [mean.count, n])
        guard case .int(let k) = try h5.attribute("num_modes"), k >= 1, Int(k) <= n else {
            throw StageFailure("\(file.path): attribute 'num_modes' is missing or not in 1...\(n); rerun stage 'augment'")
        }
        let flat = try h5.read("scores", as: Double.self, shape: [n, Int(k)])
        let scores = (0..<n).map { Array(flat[($0 * Int(k))..<(($0 + 1) * Int(k))]) }
        self.init(mean: mean, eigenvalues: eigenvalues, modes: modes, scores: scores, numModes: Int(k))
    }

    /// Writes `pca.h5` (byte-deterministic: HDF5 object times are off).
    public func write(to file: URL) throws {
        let h5 = try HDF5File(creating: file)
        defer { h5.close() }
        try h5.write(mean, to: "mean")
        try h5.write(eigenvalues, to: "eigenvalues")
        try h5.write(modes, to: "modes", shape: [mean.count, modeCount])
        try h5.write(scores.flatMap { $0 }, to: "scores", shape: [scores.count, numModes])
        try h5.setAttribute("num_modes", .int(Int64(numModes)))
    }
}
