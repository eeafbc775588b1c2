import Foundation
import ShapeModel
import GeometryKit

/// Step 6 of the use case for one test subject: the original surface (the
/// distance transform's zero level), the predicted surface (the mean dense
/// mesh warped onto the predicted particles) and a baseline (the mean shape
/// placed in the subject's frame by a similarity alone), compared
/// point-to-surface in both directions, all in the subject's local frame.
public struct SurfaceAnalysis: Sendable {
    /// The mean dense mesh, in the frame of `meanParticles` (world).
    public var meanMesh: Mesh
    /// The mean shape's particles (world), corresponding to predicted particles.
    public var meanParticles: ParticleSet
    public var kernel: MeshWarp.Kernel
    /// Use every `landmarkStride`-th particle as a warp landmark.
    public var landmarkStride: Int
    public var threads: Int

    public init(meanMesh: Mesh, meanParticles: ParticleSet, kernel: MeshWarp.Kernel,
                landmarkStride: Int = 1, threads: Int = 2) {
        self.meanMesh = meanMesh
        self.meanParticles = meanParticles
        self.kernel = kernel
        self.landmarkStride = landmarkStride
        self.threads = threads
    }

    /// The three surfaces of one subject, each with its `Distance` array (to
    /// the original surface for the model meshes; to the predicted surface for
    /// the original), and the numbers.
    public struct Result: Sendable {
        public var row: SubjectDistances
        public var original: Mesh
        public var predicted: Mesh
        public var baseline: Mesh
        /// The PCA-K oracle's surface, when its particles were given.
        public var oracle: Mesh?
    }

    /// Analyses one subject.
    /// - Parameters:
    ///   - original: the subject's true surface in its local frame.
    ///   - predictedLocal: predicted particles in the local frame.
    ///   - predictedWorld: the same prediction in the world frame, when known;
    ///     the similarity between the two places the baseline. Without it the
    ///     baseline is the mean shape's best similarity fit to `predictedLocal`.
    ///   - oracleLocal: the PCA-K oracle's particles in the local frame; its
    ///     surface is made and measured like the prediction's.
    ///   - particles: the subject's particle RMSEs, carried into its row.
    public func analyze(id: String, original: Mesh, predictedLocal: ParticleSet,
                        predictedWorld: ParticleSet?, oracleLocal: ParticleSet? = nil,
                        particles: ParticleAccuracy.Subject? = nil) throws -> Result {
        let predicted = try surface(at: predictedLocal)
        let placement = SimilarityTransform.umeyama(from: (predictedWorld ?? meanParticles).points,
                                                    to: predictedLocal.points)
        var baseline = meanMesh
        baseline.points = meanMesh.points.map(placement.apply)

        let toPredicted = try SurfaceDistance(original, predicted, threads: threads)
        let (originalMesh, predictedMesh) = toPredicted.annotated(original, predicted)
        let toBaseline = try SurfaceDistance(original, baseline, threads: threads)
        let (_, baselineMesh) = toBaseline.annotated(original, baseline)
        var oracleSummary: SurfaceDistance.Summary?, oracleMesh: Mesh?
        if let oracleLocal {
            let surface = try surface(at: oracleLocal)
            let toOracle = try SurfaceDistance(original, surface, threads: threads)
            oracleSummary = toOracle.summary
            oracleMesh = toOracle.annotated(original, surface).1
        }
        return Result(row: SubjectDistances(id: id, predicted: toPredicted.summary, baseline: toBaseline.summary,
                                            oracle: oracleSummary, particles: particles),
                      original: originalMesh, predicted: predictedMesh, baseline: baselineMesh, oracle: oracleMesh)
    }

    /// The mean dense mesh warped onto `particles`.
    func surface(at particles: ParticleSet) throws -> Mesh {
        let warp = try MeshWarp.fit(kernel, from: meanParticles, to: particles, stride: landmarkStride)
        return MeshWarp.apply(warp, to: meanMesh, threads: threads)
    }

    /// The original surface of a subject: the zero level of its distance
    /// transform (negative inside), or 0.5 of a 0/1 segmentation.
    public static func originalSurface(_ image: ImageVolume, isovalue: Double) throws -> Mesh {
        try Mesh.contour(image, isovalue: isovalue)
    }
}

/// The distances of one subject's predicted, baseline and (when known) PCA-K
/// oracle surfaces to its original surface (first mesh: original; second: the
/// model's), and its particle RMSEs when the predictions carry them.
public struct SubjectDistances: Sendable, Codable, Equatable {
    public var id: String
    public var predicted: SurfaceDistance.Summary
    public var baseline: SurfaceDistance.Summary
    public var oracle: SurfaceDistance.Summary?
    public var particles: ParticleAccuracy.Subject?

    public init(id: String, predicted: SurfaceDistance.Summary, baseline: SurfaceDistance.Summary,
                oracle: SurfaceDistance.Summary? = nil, particles: ParticleAccuracy.Subject? = nil) {
        self.id = id
        self.predicted = predicted
        self.baseline = baseline
        self.oracle = oracle
        self.particles = particles
    }
}
