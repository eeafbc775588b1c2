import CVTKShim
import Foundation

extension Mesh {
    /// The iso-surface of `image` at `isovalue` (flying edges), in physical
    /// coordinates (the image's spacing and origin). A distance transform at 0
    /// or a 0/1 segmentation at 0.5 gives the object's surface.
    public static func contour(_ image: ImageVolume, isovalue: Double) throws -> Mesh {
        var spacing = [image.spacing.x, image.spacing.y, image.spacing.z]
        var origin = [image.origin.x, image.origin.y, image.origin.z]
        let handle = try MeshHandle.make { out, error in
            cvtk_contour(image.voxels, Int64(image.dims.x), Int64(image.dims.y), Int64(image.dims.z),
                         &spacing, &origin, isovalue, out, error)
        }
        let mesh = handle.mesh
        if mesh.triangles.isEmpty {
            throw VTKError("the image has no surface at isovalue \(isovalue) (values span "
                + "\(image.voxels.min() ?? 0) to \(image.voxels.max() ?? 0)); check the isovalue")
        }
        return mesh
    }

    /// Reads a `.vtk` (legacy), `.vtp`, `.ply`, `.stl` or `.obj` mesh, by
    /// extension; polygons are triangulated and one-component point arrays kept.
    public static func read(from url: URL) throws -> Mesh {
        try MeshHandle.make { cvtk_mesh_read(url.path, $0, $1) }.mesh
    }

    /// Writes `.vtk` (legacy 4.2, binary, with every point array, for ParaView
    /// and ShapeWorks Studio), `.vtp`, `.ply` or `.stl`, by extension.
    public func write(to url: URL) throws {
        let handle = try MeshHandle(self)
        try vtkCall { cvtk_mesh_write(handle.raw, url.path, $0) }
    }

    /// Laplacian smoothing: each vertex moves `relaxation` (0...1) of the way
    /// towards the mean of its neighbours, `iterations` times.
    public func smoothed(iterations: Int, relaxation: Double) throws -> Mesh {
        let handle = try MeshHandle(self)
        return try MeshHandle.make {
            cvtk_mesh_smooth(handle.raw, CVTK_SMOOTH_LAPLACIAN, Int32(iterations), relaxation, $0, $1)
        }.mesh
    }

    /// Windowed-sinc smoothing (Taubin), which shrinks far less than Laplacian;
    /// `passBand` in (0, 2), smaller is smoother (0.1 is typical).
    public func smoothedWindowedSinc(iterations: Int, passBand: Double) throws -> Mesh {
        let handle = try MeshHandle(self)
        return try MeshHandle.make {
            cvtk_mesh_smooth(handle.raw, CVTK_SMOOTH_WINDOWED_SINC, Int32(iterations), passBand, $0, $1)
        }.mesh
    }

    /// Quadric decimation removing about `targetReduction` (0..<1) of the triangles.
    public func decimated(targetReduction: Double) throws -> Mesh {
        let handle = try MeshHandle(self)
        return try MeshHandle.make { cvtk_mesh_decimate(handle.raw, targetReduction, $0, $1) }.mesh
    }

    /// Total triangle area in mm².
    public var area: Double {
        triangles.reduce(0) { sum, t in
            let a = points[Int(t.x)], b = points[Int(t.y)], c = points[Int(t.z)]
            let n = cross(b - a, c - a)
            return sum + 0.5 * (n * n).sum().squareRoot()
        }
    }

    /// Enclosed volume in mm³ by the divergence theorem (a closed surface;
    /// the absolute value, so the triangle orientation does not matter).
    public var volume: Double {
        abs(triangles.reduce(0) { sum, t in
            let a = points[Int(t.x)], b = points[Int(t.y)], c = points[Int(t.z)]
            return sum + (a * cross(b, c)).sum() / 6
        })
    }

    /// Mean of the vertices.
    public var centroid: SIMD3<Double> {
        points.isEmpty ? .zero : points.reduce(.zero, +) / Double(points.count)
    }
}

@inline(__always)
private func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}
