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
    }

    /// Analyses one subject.
    /// - Parameters:
    ///   - original: the subject's true surface in its local frame.
    ///   - predictedLocal: predicted particles in the local frame.
    ///   - predictedWorld: the same prediction in the world frame, when known;
    ///     the similarity between the two places the baseline. Without it the
    ///     baseline is the mean shape's best similarity fit to `predictedLocal`.
    public func analyze(id: String, original: Mesh, predictedLocal: ParticleSet,
                        predictedWorld: ParticleSet?) throws -> Result {
        let warp = try MeshWarp.fit(kernel, from: meanParticles, to: predictedLocal, stride: landmarkStride)
        let predicted = MeshWarp.apply(warp, to: meanMesh, threads: threads)
        let placement = SimilarityTransform.umeyama(from: (predictedWorld ?? meanParticles).points,
                                                    to: predictedLocal.points)
        var baseline = meanMesh
        baseline.points = meanMesh.points.map(placement.apply)

        let toPredicted = try SurfaceDistance(original, predicted, threads: threads)
        let (originalMesh, predictedMesh) = toPredicted.annotated(original, predicted)
        let toBaseline = try SurfaceDistance(original, baseline, threads: threads)
        let (_, baselineMesh) = toBaseline.annotated(original, baseline)
        return Result(row: SubjectDistances(id: id, predicted: toPredicted.summary, baseline: toBaseline.summary),
                      original: originalMesh, predicted: predictedMesh, baseline: baselineMesh)
    }

    /// The original surface of a subject: the zero level of its distance
    /// transform (negative inside), or 0.5 of a 0/1 segmentation.
    public static func originalSurface(_ image: ImageVolume, isovalue: Double) throws -> Mesh {
        try Mesh.contour(image, isovalue: isovalue)
    }
}

/// The distances of one subject's predicted and baseline surfaces to its
/// original surface (first mesh: original; second: the model's).
public struct SubjectDistances: Sendable, Codable, Equatable {
    public var id: String
    public var predicted: SurfaceDistance.Summary
    public var baseline: SurfaceDistance.Summary

    public init(id: String, predicted: SurfaceDistance.Summary, baseline: SurfaceDistance.Summary) {
        self.id = id
        self.predicted = predicted
        self.baseline = baseline
    }
}
