import CVTKShim
import Foundation

/// The VTK this build links against.
public enum VTK {
    public static var version: String { String(cString: cvtk_version()) }
}

/// A failure inside the VTK layer (reading, writing, contouring, rendering),
/// with VTK's own message and what was being done.
public struct VTKError: Error, CustomStringConvertible, Sendable {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// Calls a fallible shim function and turns its status and caller-owned error
/// string into a `VTKError`.
func vtkCall(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> cvtk_status) throws {
    var error: UnsafeMutablePointer<CChar>?
    let status = body(&error)
    defer { cvtk_free_string(error) }
    guard status == CVTK_OK else {
        throw VTKError(error.map { String(cString: $0) } ?? "unknown VTK error")
    }
}

/// Owns one `cvtk_mesh` (a vtkPolyData) and frees it once.
final class MeshHandle {
    let raw: OpaquePointer

    init(taking raw: OpaquePointer) { self.raw = raw }

    deinit { cvtk_mesh_free(raw) }

    /// Builds the VTK mesh of a Swift mesh, arrays included (in name order, so
    /// files are byte-identical for equal meshes).
    convenience init(_ mesh: Mesh) throws {
        var out: OpaquePointer?
        let flat = mesh.points.flatMap { [$0.x, $0.y, $0.z] }
        let indices = mesh.triangles.flatMap { [$0.x, $0.y, $0.z] }
        try vtkCall { cvtk_mesh_create(flat, Int64(mesh.points.count), indices,
                                       Int64(mesh.triangles.count), &out, $0) }
        self.init(taking: out!)
        for name in mesh.pointArrays.keys.sorted() {
            let values = mesh.pointArrays[name]!
            try vtkCall { cvtk_mesh_set_array(raw, name, values, Int64(values.count), $0) }
        }
    }

    /// Runs a shim call that produces a new mesh handle.
    static func make(_ body: (UnsafeMutablePointer<OpaquePointer?>,
                              UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> cvtk_status) throws -> MeshHandle {
        var out: OpaquePointer?
        try vtkCall { body(&out, $0) }
        guard let out else { throw VTKError("the VTK layer returned no mesh") }
        return MeshHandle(taking: out)
    }

    /// Copies the VTK mesh back into a Swift value.
    var mesh: Mesh {
        let n = Int(cvtk_mesh_num_points(raw)), t = Int(cvtk_mesh_num_triangles(raw))
        var flat = [Double](repeating: 0, count: 3 * n)
        var indices = [Int32](repeating: 0, count: 3 * t)
        flat.withUnsafeMutableBufferPointer { cvtk_mesh_get_points(raw, $0.baseAddress) }
        indices.withUnsafeMutableBufferPointer { cvtk_mesh_get_triangles(raw, $0.baseAddress) }
        var arrays: [String: [Double]] = [:]
        for i in 0..<cvtk_mesh_num_arrays(raw) {
            var values = [Double](repeating: 0, count: n)
            values.withUnsafeMutableBufferPointer { cvtk_mesh_get_array(raw, i, $0.baseAddress) }
            arrays[String(cString: cvtk_mesh_array_name(raw, i))] = values
        }
        return Mesh(points: (0..<n).map { SIMD3(flat[3 * $0], flat[3 * $0 + 1], flat[3 * $0 + 2]) },
                    triangles: (0..<t).map { SIMD3(indices[3 * $0], indices[3 * $0 + 1], indices[3 * $0 + 2]) },
                    pointArrays: arrays)
    }
}
