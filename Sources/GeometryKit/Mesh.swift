import Foundation

/// A triangle surface mesh with optional per-vertex scalar arrays (e.g. `Distance`).
public struct Mesh: Sendable, Equatable {
    public var points: [SIMD3<Double>]
    /// Vertex indices, three per triangle.
    public var triangles: [SIMD3<Int32>]
    /// Per-vertex scalar arrays by name; each has `points.count` values.
    public var pointArrays: [String: [Double]]

    public init(points: [SIMD3<Double>], triangles: [SIMD3<Int32>], pointArrays: [String: [Double]] = [:]) {
        self.points = points
        self.triangles = triangles
        self.pointArrays = pointArrays
    }
}
