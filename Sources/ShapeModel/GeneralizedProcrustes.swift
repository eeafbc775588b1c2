import Foundation
import GeometryKit

/// Generalised Procrustes analysis with scaling: brings corresponding shapes into
/// one world frame, as ShapeWorks' world particles are.
public enum GeneralizedProcrustes {
    /// The aligned shapes, their mean, and per shape the similarity taking its
    /// world points back to the input (local) points.
    public struct Alignment: Sendable {
        public var world: [ParticleSet]
        public var mean: ParticleSet
        public var worldToLocal: [SimilarityTransform]
    }

    /// Aligns `shapes` (same count, corresponding order) by iterating: align each
    /// shape to the current mean (Umeyama, with scale), average, renormalise the
    /// mean to the shapes' average centroid size. The first shape fixes the
    /// orientation, so the result does not depend on anything but the input.
    public static func align(_ shapes: [ParticleSet], iterations: Int = 20, tolerance: Double = 1e-10) -> Alignment {
        precondition(!shapes.isEmpty && shapes.allSatisfy { $0.count == shapes[0].count && $0.count > 0 },
                     "procrustes: shapes must be non-empty with equal counts")
        let m = Double(shapes[0].count)
        func centred(_ points: [SIMD3<Double>]) -> [SIMD3<Double>] {
            let c = points.reduce(.zero, +) / m
            return points.map { $0 - c }
        }
        func size(_ points: [SIMD3<Double>]) -> Double { points.reduce(0) { $0 + ($1 * $1).sum() }.squareRoot() }
        let targetSize = shapes.reduce(0) { $0 + size(centred($1.points)) } / Double(shapes.count)
        var mean = centred(shapes[0].points)
        mean = mean.map { $0 * (targetSize / size(mean)) }
        var world = shapes.map(\.points)
        for _ in 0..<iterations {
            world = shapes.map { SimilarityTransform.umeyama(from: $0.points, to: mean).apply(ParticleSet(points: $0.points)).points }
            var next = [SIMD3<Double>](repeating: .zero, count: mean.count)
            for shape in world { for (j, p) in shape.enumerated() { next[j] += p } }
            next = centred(next.map { $0 / Double(shapes.count) })
            // Keep the frame of the previous mean: only the shape of the mean may change.
            let keep = SimilarityTransform.umeyama(from: next, to: mean, allowScaling: false)
            next = next.map { keep.apply($0) }
            next = next.map { $0 * (targetSize / size(next)) }
            let change = zip(next, mean).reduce(0) { $0 + (($1.0 - $1.1) * ($1.0 - $1.1)).sum() }
            mean = next
            if change.squareRoot() < tolerance * targetSize { break }
        }
        world = shapes.map { SimilarityTransform.umeyama(from: $0.points, to: mean).apply(ParticleSet(points: $0.points)).points }
        let transforms = zip(world, shapes).map { SimilarityTransform.umeyama(from: $0.0, to: $0.1.points) }
        return Alignment(world: world.map(ParticleSet.init(points:)), mean: ParticleSet(points: mean), worldToLocal: transforms)
    }
}
