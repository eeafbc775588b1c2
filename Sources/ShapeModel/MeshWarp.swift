import Foundation
import GeometryKit

/// A smooth map of 3-D space fitted to corresponding landmarks.
public protocol LandmarkWarp: Sendable {
    func callAsFunction(_ p: SIMD3<Double>) -> SIMD3<Double>
}

extension ThinPlateSpline: LandmarkWarp {}
extension WendlandSpline: LandmarkWarp {}

/// Carries a dense mesh (the mean femur) onto a new set of particles by a
/// landmark warp that takes the mesh's own particles to the new ones — how a
/// surface is obtained from predicted particles.
public enum MeshWarp {
    /// The radial basis of the warp.
    public enum Kernel: Sendable, Equatable {
        /// The 3-D thin-plate spline, U(r) = r plus affine (the default; smooth
        /// everywhere, as the augmentation's image warp).
        case thinPlate
        /// Wendland's compactly supported RBF with this support radius in mm
        /// (ShapeWorks 6.0); nil picks `WendlandSpline.defaultSupport`.
        case wendland(support: Double?)
    }

    /// Fits the warp taking `source` landmarks to `target` landmarks, using every
    /// `stride`-th pair (1: all).
    public static func fit(_ kernel: Kernel, from source: ParticleSet, to target: ParticleSet,
                           stride: Int = 1) throws -> any LandmarkWarp {
        guard source.count == target.count else {
            throw NumericalError("cannot warp: the mesh has \(source.count) particles but the target has "
                + "\(target.count); both must come from the same shape model")
        }
        let pick = Swift.stride(from: 0, to: source.count, by: max(1, stride))
        let from = pick.map { source.points[$0] }, to = pick.map { target.points[$0] }
        switch kernel {
        case .thinPlate:
            return try ThinPlateSpline(from: from, to: to)
        case .wendland(let support):
            return try WendlandSpline(from: from, to: to,
                                      support: support ?? WendlandSpline.defaultSupport(for: from))
        }
    }

    /// `mesh` with every vertex mapped by `warp` (in `threads` chunks: the
    /// kernel sums over every landmark dominate the analysis); triangles and
    /// arrays kept.
    public static func apply(_ warp: any LandmarkWarp, to mesh: Mesh, threads: Int = 1) -> Mesh {
        var out = mesh
        let count = mesh.points.count, chunks = max(1, min(threads, count / 1024))
        let source = mesh.points
        out.points.withUnsafeMutableBufferPointer { target in
            nonisolated(unsafe) let target = target
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let range = (chunk * count / chunks)..<((chunk + 1) * count / chunks)
                for i in range { target[i] = warp(source[i]) }
            }
        }
        return out
    }
}
