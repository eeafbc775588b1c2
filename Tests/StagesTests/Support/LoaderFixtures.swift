import Foundation
import GeometryKit
import HDF5Kit
import Workflow
import WorkflowTesting
@testable import Stages

/// A small training pool, held-out cohort and PCA model in the shared artifact
/// formats, written with `SampleStack`, plus a minimal stage context to run
/// `deepssm-loaders` on them.
struct LoaderFixture {
    static let grid = SampleStack.Geometry(dims: [8, 6, 5], spacing: [1.5, 1.5, 2], origin: [-6, -4.5, -5])
    static let numModes = 3
    static let numParticles = 4

    let root: URL
    var pool: URL { root.appendingPathComponent("pool") }
    var test: URL { root.appendingPathComponent("test") }
    var pca: URL { root.appendingPathComponent("pca.h5") }
    let poolIDs: [String]

    /// A deterministic, non-trivial image for sample `seed`.
    static func image(_ seed: Int) -> ImageVolume {
        let dims = SIMD3(grid.dims[0], grid.dims[1], grid.dims[2])
        let voxels = (0..<(dims.x * dims.y * dims.z)).map { i -> Float in
            Float(sin(Double(i) * 0.37 + Double(seed)) * 100 + Double(seed * 3 + i % 7))
        }
        return ImageVolume(dims: dims, spacing: SIMD3(grid.spacing[0], grid.spacing[1], grid.spacing[2]),
                           origin: SIMD3(grid.origin[0], grid.origin[1], grid.origin[2]), voxels: voxels)
    }

    static func scores(_ seed: Int) -> [Double] {
        (0..<numModes).map { k in cos(Double(seed * (k + 2))) * Double(10 - 3 * k) + Double(k) }
    }

    /// Pool of `originals` + `generated` samples in two files; cohort of `held` subjects.
    init(root: URL, originals: Int = 3, generated: Int = 7, held: Int = 2, heldSpacing: [Double]? = nil) throws {
        self.root = root
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("pool"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("test"), withIntermediateDirectories: true)

        var ids: [String] = []
        var files: [String] = []
        var next = 0
        for (file, count) in [("originals.h5", originals), ("shard-00000.h5", generated)] {
            let fileIDs = (0..<count).map { i in
                file == "originals.h5" ? "m\(String(format: "%02d", i))_L" : "Generated_sample_\(String(format: "%04d", i + 1))"
            }
            let writer = try SampleStackWriter(creating: root.appendingPathComponent("pool/\(file)"), ids: fileIDs,
                                               geometry: Self.grid)
            try writer.addArray("images", type: .float32, sampleShape: Self.grid.imageShape)
            try writer.addArray("scores", type: .float64, sampleShape: [Self.numModes])
            for i in 0..<count {
                try writer.put("images", sample: i, image: Self.image(next))
                try writer.put("scores", sample: i, Self.scores(next))
                next += 1
            }
            try writer.finish()
            ids += fileIDs
            files.append(file)
        }
        poolIDs = ids
        let index: [String: Any] = [
            "files": files, "count": ids.count, "num_modes": Self.numModes, "num_particles": Self.numParticles,
            "dims": Self.grid.dims, "spacing": Self.grid.spacing, "origin": Self.grid.origin,
        ]
        try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys])
            .write(to: root.appendingPathComponent("pool/index.json"))

        let heldIDs = (0..<held).map { "n\(String(format: "%02d", $0))_R" }
        var heldGrid = Self.grid
        if let heldSpacing { heldGrid.spacing = heldSpacing }
        let subjects = try SampleStackWriter(creating: root.appendingPathComponent("test/subjects.h5"), ids: heldIDs,
                                             geometry: heldGrid)
        try subjects.addArray("images", type: .float32, sampleShape: Self.grid.imageShape)
        try subjects.addArray("particles_world", type: .float64, sampleShape: [Self.numParticles, 3])
        for i in 0..<held {
            try subjects.put("images", sample: i, image: Self.image(1000 + i))
            try subjects.put("particles_world", sample: i, Self.particles(i))
        }
        try subjects.finish()
        let cohort: [String: Any] = [
            "ids": heldIDs, "dims": heldGrid.dims, "spacing": heldGrid.spacing, "origin": heldGrid.origin,
            "num_particles": Self.numParticles, "source": "loaders test fixture", "intensity_range": [-200, 300],
        ]
        try JSONSerialization.data(withJSONObject: cohort, options: [.sortedKeys])
            .write(to: root.appendingPathComponent("test/cohort.json"))

        let pcaFile = try HDF5File(creating: root.appendingPathComponent("pca.h5"))
        try pcaFile.write(Self.pcaMean, to: "mean")
        try pcaFile.write(Self.pcaModes, to: "modes", shape: [3 * Self.numParticles, 4])
        try pcaFile.write([Double](arrayLiteral: 4, 3, 2, 1), to: "eigenvalues")
        try pcaFile.write([Double](repeating: 0, count: 4 * Self.numModes), to: "scores", shape: [4, Self.numModes])
        try pcaFile.setAttribute("num_modes", .int(Int64(Self.numModes)))
        pcaFile.close()
    }

    static func particles(_ i: Int) -> [Double] { (0..<(3 * numParticles)).map { Double($0) * 0.5 + Double(i) } }
    static let pcaMean: [Double] = (0..<(3 * numParticles)).map { Double($0) * 0.4 }
    /// Column c is the unit vector e_c scaled by a sign: easy to project by hand.
    static let pcaModes: [Double] = (0..<(3 * numParticles)).flatMap { (row: Int) -> [Double] in
        (0..<4).map { (column: Int) -> Double in
            guard row == column else { return 0 }
            return column % 2 == 0 ? 1 : -1
        }
    }

    /// The true scores of held-out subject `i` under the fixture's PCA model.
    static func heldScores(_ i: Int) -> [Double] {
        let x = particles(i)
        return (0..<numModes).map { (k: Int) -> Double in
            let sign: Double = k % 2 == 0 ? 1 : -1
            return sign * (x[k] - pcaMean[k])
        }
    }
}

/// The loaders stage tests' context: `WorkflowTesting`'s real scratch
/// context, outputs and scratch under `root`, memo slots in `root/memo`.
typealias LoaderTestContext = ScratchStageContext

extension ScratchStageContext {
    convenience init(root: URL, inputs: [String: URL], threads: Int = 1) throws {
        try self.init(root: root, cache: root.appendingPathComponent("memo"), stage: "loaders", kind: "loaders-test",
                      inputs: inputs, threads: threads)
    }
}

func makeLoaderTestFolder(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
