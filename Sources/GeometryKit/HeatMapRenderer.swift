import CVTKShim
import Foundation

/// Renders a mesh coloured by a per-vertex scalar (blue low, red high) with a
/// colour bar, from one or more view directions side by side, to a PNG,
/// off-screen (see `OffscreenDisplay`).
public struct HeatMapRenderer: Sendable {
    /// A camera direction: `direction` points from the mesh centre towards the
    /// camera; `up` is the screen's up.
    public struct View: Sendable, Equatable {
        public var direction: SIMD3<Double>
        public var up: SIMD3<Double>

        public init(direction: SIMD3<Double>, up: SIMD3<Double>) {
            self.direction = direction
            self.up = up
        }

        /// Looking at the −y face with +z up.
        public static let front = View(direction: [0, -1, 0], up: [0, 0, 1])
        /// Looking at the +y face with +z up.
        public static let back = View(direction: [0, 1, 0], up: [0, 0, 1])
        /// Looking at the −x face with +z up.
        public static let left = View(direction: [-1, 0, 0], up: [0, 0, 1])
        /// Looking at the +x face with +z up.
        public static let right = View(direction: [1, 0, 0], up: [0, 0, 1])
    }

    public var views: [View]
    public var width: Int
    public var height: Int
    /// The colour bar's title.
    public var barTitle: String

    public init(views: [View] = [.front, .back], width: Int = 1000, height: Int = 700,
                barTitle: String = "distance (mm)") {
        self.views = views
        self.width = width
        self.height = height
        self.barTitle = barTitle
    }

    /// Writes the PNG. `range` fixes the colour scale (so several images
    /// compare); by default it spans the array's values. `caption` goes on top.
    public func render(_ mesh: Mesh, array: String = SurfaceDistance.arrayName,
                       range: ClosedRange<Double>? = nil, caption: String? = nil,
                       to url: URL) throws {
        guard let values = mesh.pointArrays[array] else {
            let known = mesh.pointArrays.keys.sorted().joined(separator: ", ")
            throw VTKError("cannot render '\(url.lastPathComponent)': the mesh has no per-vertex "
                + "array '\(array)' (it has: \(known.isEmpty ? "none" : known))")
        }
        let span = range ?? ((values.min() ?? 0)...(values.max() ?? 1))
        try OffscreenDisplay.ensure()
        let handle = try MeshHandle(mesh)
        let directions = views.flatMap { [$0.direction.x, $0.direction.y, $0.direction.z] }
        let ups = views.flatMap { [$0.up.x, $0.up.y, $0.up.z] }
        try vtkCall {
            cvtk_render_heatmap(handle.raw, array, span.lowerBound, span.upperBound, barTitle, caption,
                                directions, ups, Int32(views.count), Int32(width), Int32(height),
                                url.path, $0)
        }
    }
}
