import Foundation

/// M corresponding points of one shape, in mm; particle i is the same anatomical
/// point on every shape of a model (ShapeWorks `.particles`).
public struct ParticleSet: Sendable, Equatable {
    public var points: [SIMD3<Double>]

    public init(points: [SIMD3<Double>]) { self.points = points }

    public var count: Int { points.count }

    /// Row-major `[x1, y1, z1, x2, ...]`, length 3M (the PCA layout).
    public var flattened: [Double] { points.flatMap { [$0.x, $0.y, $0.z] } }

    public init(flattened values: [Double]) {
        precondition(values.count % 3 == 0, "flattened particles must have length 3M")
        points = stride(from: 0, to: values.count, by: 3).map {
            SIMD3(values[$0], values[$0 + 1], values[$0 + 2])
        }
    }
}
