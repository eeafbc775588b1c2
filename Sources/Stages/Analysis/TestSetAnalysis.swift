import Foundation
import ShapeModel
import GeometryKit

/// The analysis of every test subject, as the `deepssm-analyze` stage writes
/// it: surfaces with `Distance` arrays (VTK), heat maps (PNG, one colour scale
/// for all subjects), the distance table (CSV) and its summary (JSON).
public struct TestSetAnalysis: Sendable {
    /// What one test subject brings.
    public struct Subject: Sendable {
        public var id: String
        /// Signed distance transform (negative inside) in the local frame.
        public var distanceTransform: ImageVolume
        public var predictedLocal: ParticleSet
        public var predictedWorld: ParticleSet?
        /// The PCA-K oracle's particles in the local frame, when known.
        public var oracleLocal: ParticleSet?
        /// Particle RMSEs of prediction, mean shape and oracle, when known.
        public var particles: ParticleAccuracy.Subject?

        public init(id: String, distanceTransform: ImageVolume, predictedLocal: ParticleSet,
                    predictedWorld: ParticleSet?, oracleLocal: ParticleSet? = nil,
                    particles: ParticleAccuracy.Subject? = nil) {
            self.id = id
            self.distanceTransform = distanceTransform
            self.predictedLocal = predictedLocal
            self.predictedWorld = predictedWorld
            self.oracleLocal = oracleLocal
            self.particles = particles
        }
    }

    /// Where the results go (directories are created).
    public struct Outputs: Sendable {
        public var table: URL
        public var summary: URL
        public var meshes: URL
        public var heatmaps: URL
        /// The per-subject particle RMSE plot (mean / prediction / oracle), when known.
        public var accuracyPlot: URL?

        public init(table: URL, summary: URL, meshes: URL, heatmaps: URL, accuracyPlot: URL? = nil) {
            self.table = table
            self.summary = summary
            self.meshes = meshes
            self.heatmaps = heatmaps
            self.accuracyPlot = accuracyPlot
        }
    }

    public var surfaces: SurfaceAnalysis
    /// The level of the distance transform that is the surface (0).
    public var isovalue: Double
    /// Heat-map colour scale top in mm; nil: the 99th percentile of every
    /// predicted distance, rounded up to 0.5 mm, so one outlier vertex does not
    /// wash out the picture.
    public var colourMax: Double?
    public var render: Bool
    public var imageWidth: Int
    public var imageHeight: Int
    /// What the subjects are, in the sentence and the plot: `test` or `validation`.
    public var subjects = "test"

    public init(surfaces: SurfaceAnalysis, isovalue: Double = 0, colourMax: Double? = nil, render: Bool = true,
                imageWidth: Int = 1000, imageHeight: Int = 700) {
        self.surfaces = surfaces
        self.isovalue = isovalue
        self.colourMax = colourMax
        self.render = render
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
    }

    /// Analyses subjects `0..<count` (loaded one at a time by `load`), writes
    /// every output and returns the table. `numModes`: K of the oracle, when
    /// known. `progress(done, total, message)`.
    public func run(count: Int, numModes: Int? = nil, load: (Int) throws -> Subject, outputs: Outputs,
                    progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> DistanceTable {
        let files = FileManager.default
        for dir in [outputs.meshes, outputs.heatmaps] { try files.createDirectory(at: dir, withIntermediateDirectories: true) }
        let steps = render ? 2 * count : count
        var results: [SurfaceAnalysis.Result] = []
        for i in 0..<count {
            let subject = try load(i)
            let original = try SurfaceAnalysis.originalSurface(subject.distanceTransform, isovalue: isovalue)
            let result = try surfaces.analyze(id: subject.id, original: original,
                                              predictedLocal: subject.predictedLocal,
                                              predictedWorld: subject.predictedWorld,
                                              oracleLocal: subject.oracleLocal, particles: subject.particles)
            try result.original.write(to: outputs.meshes.appendingPathComponent("\(subject.id)_original.vtk"))
            try result.predicted.write(to: outputs.meshes.appendingPathComponent("\(subject.id)_predicted.vtk"))
            try result.baseline.write(to: outputs.meshes.appendingPathComponent("\(subject.id)_baseline.vtk"))
            try result.oracle?.write(to: outputs.meshes.appendingPathComponent("\(subject.id)_oracle.vtk"))
            results.append(result)
            progress(i + 1, steps, "\(subject.id): \(String(format: "%.2f", result.row.predicted.meanSymmetric)) mm")
        }
        let table = DistanceTable(rows: results.map(\.row), numModes: numModes)
        try Data(table.csv.utf8).write(to: outputs.table, options: .atomic)
        try table.summaryJSON(subjectNoun: "\(subjects) femurs").write(to: outputs.summary, options: .atomic)
        if let plot = outputs.accuracyPlot { try table.plotParticleRMSE(to: plot, subject: "\(subjects) subject") }

        if render, let first = results.first {
            let top = colourMax ?? Self.colourScaleTop(results)
            let renderer = HeatMapRenderer(views: Self.views(facing: first.original), width: imageWidth,
                                           height: imageHeight)
            for (i, r) in results.enumerated() {
                let id = r.row.id, s = r.row.predicted
                try renderer.render(r.original, range: 0...top,
                                    caption: "\(id): original surface, distance to the prediction "
                                        + String(format: "(mean %.2f mm, max %.2f mm)", s.meanFirstToSecond, s.hausdorffFirstToSecond),
                                    to: outputs.heatmaps.appendingPathComponent("\(id)_original.png"))
                try renderer.render(r.predicted, range: 0...top,
                                    caption: "\(id): predicted surface, distance to the original "
                                        + String(format: "(mean %.2f mm, max %.2f mm)", s.meanSecondToFirst, s.hausdorffSecondToFirst),
                                    to: outputs.heatmaps.appendingPathComponent("\(id)_predicted.png"))
                progress(count + i + 1, steps, "heat maps of \(id)")
            }
        }
        return table
    }

    /// The 99th percentile of every predicted-surface distance, rounded up to 0.5 mm.
    static func colourScaleTop(_ results: [SurfaceAnalysis.Result]) -> Double {
        let all = results.flatMap {
            ($0.original.pointArrays[SurfaceDistance.arrayName] ?? []) + ($0.predicted.pointArrays[SurfaceDistance.arrayName] ?? [])
        }.sorted()
        guard !all.isEmpty else { return 1 }
        let p99 = all[min(all.count - 1, Int(0.99 * Double(all.count)))]
        return max(0.5, (p99 * 2).rounded(.up) / 2)
    }

    /// Two views of the broad faces of `mesh` (front and back along its
    /// thinnest principal axis), its longest axis up: for a femur, anterior and
    /// posterior with the shaft vertical. Signs are fixed so that every subject
    /// of a cohort is seen the same way round.
    static func views(facing mesh: Mesh) -> [HeatMapRenderer.View] {
        let c = mesh.centroid
        var cov = [Double](repeating: 0, count: 9)
        for p in mesh.points {
            let d = p - c
            for a in 0..<3 { for b in 0..<3 { cov[a * 3 + b] += d[a] * d[b] } }
        }
        // Descending eigenvalues; each eigenvector's largest component is positive.
        let eig = LinearAlgebra.symmetricEigen(cov, n: 3)
        func axis(_ k: Int) -> SIMD3<Double> { SIMD3(eig.vectors[k], eig.vectors[3 + k], eig.vectors[6 + k]) }
        let up = axis(0), facing = axis(2)
        return [HeatMapRenderer.View(direction: -facing, up: up), HeatMapRenderer.View(direction: facing, up: up)]
    }
}
