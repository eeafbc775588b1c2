import CVTKShim
import Foundation

/// Point-to-surface distances between two meshes, both directions: for every
/// vertex of one mesh, the distance to the closest point on the other mesh's
/// triangles (not merely its closest vertex), in mm.
public struct SurfaceDistance: Sendable, Equatable {
    /// Distance from each vertex of the first mesh to the second surface.
    public var fromFirst: [Double]
    /// Distance from each vertex of the second mesh to the first surface.
    public var fromSecond: [Double]

    /// Measures `first` against `second` and back, using up to `threads` threads.
    public init(_ first: Mesh, _ second: Mesh, threads: Int = 2) throws {
        fromFirst = try Self.pointToSurface(first.points, surface: second, threads: threads)
        fromSecond = try Self.pointToSurface(second.points, surface: first, threads: threads)
    }

    /// Distance from each point to the closest point on `surface`'s triangles.
    public static func pointToSurface(_ points: [SIMD3<Double>], surface: Mesh,
                                      threads: Int = 2) throws -> [Double] {
        let handle = try MeshHandle(Mesh(points: surface.points, triangles: surface.triangles))
        return try pointToSurface(points, surface: handle, threads: threads)
    }

    static func pointToSurface(_ points: [SIMD3<Double>], surface: MeshHandle,
                               threads: Int) throws -> [Double] {
        let flat = points.flatMap { [$0.x, $0.y, $0.z] }
        var distances = [Double](repeating: 0, count: points.count)
        try distances.withUnsafeMutableBufferPointer { out in
            try vtkCall {
                cvtk_point_to_surface(surface.raw, flat, Int64(points.count), Int32(max(1, threads)),
                                      out.baseAddress, nil, $0)
            }
        }
        return distances
    }

    /// The two meshes with their distances attached as the per-vertex array
    /// `Distance` (the heat map ParaView and ShapeWorks Studio colour by).
    public func annotated(_ first: Mesh, _ second: Mesh) -> (first: Mesh, second: Mesh) {
        precondition(first.points.count == fromFirst.count && second.points.count == fromSecond.count,
                     "meshes differ from the ones measured")
        var a = first, b = second
        a.pointArrays[Self.arrayName] = fromFirst
        b.pointArrays[Self.arrayName] = fromSecond
        return (a, b)
    }

    /// The per-vertex array name used for distances.
    public static let arrayName = "Distance"

    /// The usual summary numbers.
    public var summary: Summary { Summary(fromFirst: fromFirst, fromSecond: fromSecond) }

    /// Mean, RMS and Hausdorff distances of a pair of meshes, in mm.
    public struct Summary: Sendable, Equatable, Codable {
        /// Mean distance from the first mesh's vertices to the second surface.
        public var meanFirstToSecond: Double
        /// Mean distance from the second mesh's vertices to the first surface.
        public var meanSecondToFirst: Double
        /// Root mean square over the vertices of both meshes.
        public var rms: Double
        /// Directed Hausdorff distance, first to second (largest vertex distance).
        public var hausdorffFirstToSecond: Double
        /// Directed Hausdorff distance, second to first.
        public var hausdorffSecondToFirst: Double

        /// Mean symmetric surface distance: the mean of the two directed means
        /// (the number ShapeWorks 6.1+ reports).
        public var meanSymmetric: Double { (meanFirstToSecond + meanSecondToFirst) / 2 }
        /// The average of the two directed Hausdorff distances (ShapeWorks 6.0's number).
        public var averageHausdorff: Double { (hausdorffFirstToSecond + hausdorffSecondToFirst) / 2 }
        /// The symmetric Hausdorff distance: the larger directed one.
        public var hausdorff: Double { max(hausdorffFirstToSecond, hausdorffSecondToFirst) }

        public init(fromFirst: [Double], fromSecond: [Double]) {
            func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
            meanFirstToSecond = mean(fromFirst)
            meanSecondToFirst = mean(fromSecond)
            let squares = fromFirst.reduce(0) { $0 + $1 * $1 } + fromSecond.reduce(0) { $0 + $1 * $1 }
            let count = fromFirst.count + fromSecond.count
            rms = count == 0 ? 0 : (squares / Double(count)).squareRoot()
            hausdorffFirstToSecond = fromFirst.max() ?? 0
            hausdorffSecondToFirst = fromSecond.max() ?? 0
        }
    }
}
