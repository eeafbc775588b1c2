import Foundation
import GeometryKit

/// Backward warp of an image by a thin-plate spline: output voxel p (on the
/// input's own grid) takes the input's trilinear value at `f(p)`, 0 outside.
///
/// Evaluating f at every voxel costs n square roots per voxel (~10⁹ for a
/// full-size femur image and 512 landmarks), so f − p is evaluated on a coarse
/// grid of nodes every `gridStep` voxels and interpolated trilinearly; f is
/// smooth away from its landmarks, and the error is measured by `maxFieldError`.
public struct ImageWarp: Sendable {
    /// Voxels between coarse-grid nodes along each axis; 1 evaluates f at every voxel.
    public var gridStep: Int
    /// Threads sharing the work (z-slabs).
    public var threads: Int

    public init(gridStep: Int = 4, threads: Int = 2) {
        precondition(gridStep >= 1 && threads >= 1, "gridStep and threads must be at least 1")
        self.gridStep = gridStep
        self.threads = threads
    }

    /// The displacement `(f(p) − p) / spacing` (in voxels) at the coarse nodes.
    public struct Field: Sendable {
        public let step: Int
        /// Node counts along x, y, z; nodes at voxel indices 0, step, 2·step, ...,
        /// the last one at or beyond the image's last voxel.
        public let nodes: SIMD3<Int>
        /// x, y, z displacement per node, node index `i + nx·(j + ny·k)`.
        let dx: [Double], dy: [Double], dz: [Double]

        /// Trilinear interpolation at voxel `(x, y, z)`.
        public func displacement(_ x: Int, _ y: Int, _ z: Int) -> SIMD3<Double> {
            let i = min(x / step, nodes.x - 2), j = min(y / step, nodes.y - 2), k = min(z / step, nodes.z - 2)
            let fx = Double(x - i * step) / Double(step)
            let fy = Double(y - j * step) / Double(step)
            let fz = Double(z - k * step) / Double(step)
            var out = SIMD3<Double>.zero
            for c in 0..<8 {
                let (ox, oy, oz) = (c & 1, (c >> 1) & 1, c >> 2)
                let w = (ox == 1 ? fx : 1 - fx) * (oy == 1 ? fy : 1 - fy) * (oz == 1 ? fz : 1 - fz)
                let n = (i + ox) + nodes.x * ((j + oy) + nodes.y * (k + oz))
                out += w * SIMD3(dx[n], dy[n], dz[n])
            }
            return out
        }
    }

    /// Evaluates the spline at the coarse nodes of `image`'s grid.
    public func field(for image: ImageVolume, spline: ThinPlateSpline) -> Field {
        let s = gridStep
        // At least two nodes per axis so every voxel has a cell.
        let nodes = SIMD3(max(2, (image.dims.x - 1 + s - 1) / s + 1),
                          max(2, (image.dims.y - 1 + s - 1) / s + 1),
                          max(2, (image.dims.z - 1 + s - 1) / s + 1))
        let count = nodes.x * nodes.y * nodes.z
        var dx = [Double](repeating: 0, count: count), dy = dx, dz = dx
        dx.withUnsafeMutableBufferPointer { px in
            dy.withUnsafeMutableBufferPointer { py in
                dz.withUnsafeMutableBufferPointer { pz in
                    // Each plane k writes its own disjoint range of the three buffers.
                    nonisolated(unsafe) let (bx, by, bz) = (px, py, pz)
                    parallel(nodes.z) { k in
                        for j in 0..<nodes.y {
                            for i in 0..<nodes.x {
                                let p = image.point(SIMD3(Double(i * s), Double(j * s), Double(k * s)))
                                let d = (spline(p) - p) / image.spacing
                                let n = i + nodes.x * (j + nodes.y * k)
                                bx[n] = d.x; by[n] = d.y; bz[n] = d.z
                            }
                        }
                    }
                }
            }
        }
        return Field(step: s, nodes: nodes, dx: dx, dy: dy, dz: dz)
    }

    /// The warped image, through the coarse displacement field.
    public func apply(to image: ImageVolume, spline: ThinPlateSpline) -> ImageVolume {
        apply(to: image, field: field(for: image, spline: spline))
    }

    /// The warped image for a precomputed field.
    public func apply(to image: ImageVolume, field: Field) -> ImageVolume {
        let (nx, ny, nz) = (image.dims.x, image.dims.y, image.dims.z)
        let s = field.step, nodesX = field.nodes.x, nodesY = field.nodes.y
        var out = [Float](repeating: 0, count: image.count)
        out.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let output = buffer
            image.voxels.withUnsafeBufferPointer { source in
                nonisolated(unsafe) let input = source
                parallel(nz) { z in
                    // Interpolate in y and z once per coarse x node, then in x per voxel.
                    var row = [Double](repeating: 0, count: nodesX * 3)
                    let k = min(z / s, field.nodes.z - 2), fz = Double(z - k * s) / Double(s)
                    for y in 0..<ny {
                        let j = min(y / s, nodesY - 2), fy = Double(y - j * s) / Double(s)
                        let w00 = (1 - fy) * (1 - fz), w10 = fy * (1 - fz), w01 = (1 - fy) * fz, w11 = fy * fz
                        let n00 = nodesX * (j + nodesY * k), n10 = nodesX * (j + 1 + nodesY * k)
                        let n01 = nodesX * (j + nodesY * (k + 1)), n11 = nodesX * (j + 1 + nodesY * (k + 1))
                        for i in 0..<nodesX {
                            row[i * 3] = w00 * field.dx[n00 + i] + w10 * field.dx[n10 + i] + w01 * field.dx[n01 + i] + w11 * field.dx[n11 + i]
                            row[i * 3 + 1] = w00 * field.dy[n00 + i] + w10 * field.dy[n10 + i] + w01 * field.dy[n01 + i] + w11 * field.dy[n11 + i]
                            row[i * 3 + 2] = w00 * field.dz[n00 + i] + w10 * field.dz[n10 + i] + w01 * field.dz[n01 + i] + w11 * field.dz[n11 + i]
                        }
                        let base = nx * (y + ny * z)
                        for x in 0..<nx {
                            let i = min(x / s, nodesX - 2), fx = Double(x - i * s) / Double(s)
                            let qx = Double(x) + (1 - fx) * row[i * 3] + fx * row[i * 3 + 3]
                            let qy = Double(y) + (1 - fx) * row[i * 3 + 1] + fx * row[i * 3 + 4]
                            let qz = Double(z) + (1 - fx) * row[i * 3 + 2] + fx * row[i * 3 + 5]
                            output[base + x] = Self.trilinear(input, nx, ny, nz, qx, qy, qz)
                        }
                    }
                }
            }
        }
        return ImageVolume(dims: image.dims, spacing: image.spacing, origin: image.origin, voxels: out)
    }

    /// The warped image with f evaluated exactly at every voxel: the reference
    /// the coarse warp is measured against (slow: n square roots per voxel).
    public func applyExact(to image: ImageVolume, spline: ThinPlateSpline) -> ImageVolume {
        let (nx, ny, nz) = (image.dims.x, image.dims.y, image.dims.z)
        var out = [Float](repeating: 0, count: image.count)
        out.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let output = buffer
            image.voxels.withUnsafeBufferPointer { source in
                nonisolated(unsafe) let input = source
                parallel(nz) { z in
                    for y in 0..<ny {
                        for x in 0..<nx {
                            let q = image.continuousIndex(spline(image.point(SIMD3(Double(x), Double(y), Double(z)))))
                            output[x + nx * (y + ny * z)] = Self.trilinear(input, nx, ny, nz, q.x, q.y, q.z)
                        }
                    }
                }
            }
        }
        return ImageVolume(dims: image.dims, spacing: image.spacing, origin: image.origin, voxels: out)
    }

    /// Largest distance, in voxels, between the coarse field's mapped position and
    /// the exact `f(p)` over every `sampleStride`-th voxel along each axis.
    public func maxFieldError(for image: ImageVolume, spline: ThinPlateSpline, sampleStride: Int = 1) -> Double {
        let field = field(for: image, spline: spline)
        var worst = 0.0
        for z in stride(from: 0, to: image.dims.z, by: sampleStride) {
            for y in stride(from: 0, to: image.dims.y, by: sampleStride) {
                for x in stride(from: 0, to: image.dims.x, by: sampleStride) {
                    let v = SIMD3(Double(x), Double(y), Double(z))
                    let exact = image.continuousIndex(spline(image.point(v)))
                    let d = exact - (v + field.displacement(x, y, z))
                    worst = max(worst, (d * d).sum().squareRoot())
                }
            }
        }
        return worst
    }

    /// Trilinear interpolation at continuous index q; 0 outside the image
    /// (ITK's rule: inside means −0.5 ≤ q < n − 0.5, neighbours clamped to the border).
    @inline(__always)
    static func trilinear(_ v: UnsafeBufferPointer<Float>, _ nx: Int, _ ny: Int, _ nz: Int,
                          _ qx: Double, _ qy: Double, _ qz: Double) -> Float {
        guard qx >= -0.5, qy >= -0.5, qz >= -0.5,
              qx < Double(nx) - 0.5, qy < Double(ny) - 0.5, qz < Double(nz) - 0.5 else { return 0 }
        let fx0 = qx.rounded(.down), fy0 = qy.rounded(.down), fz0 = qz.rounded(.down)
        let tx = qx - fx0, ty = qy - fy0, tz = qz - fz0
        let x0 = max(Int(fx0), 0), y0 = max(Int(fy0), 0), z0 = max(Int(fz0), 0)
        let x1 = min(Int(fx0) + 1, nx - 1), y1 = min(Int(fy0) + 1, ny - 1), z1 = min(Int(fz0) + 1, nz - 1)
        let r00 = nx * (y0 + ny * z0), r10 = nx * (y1 + ny * z0), r01 = nx * (y0 + ny * z1), r11 = nx * (y1 + ny * z1)
        let c00 = Double(v[r00 + x0]) * (1 - tx) + Double(v[r00 + x1]) * tx
        let c10 = Double(v[r10 + x0]) * (1 - tx) + Double(v[r10 + x1]) * tx
        let c01 = Double(v[r01 + x0]) * (1 - tx) + Double(v[r01 + x1]) * tx
        let c11 = Double(v[r11 + x0]) * (1 - tx) + Double(v[r11 + x1]) * tx
        let c0 = c00 * (1 - ty) + c10 * ty, c1 = c01 * (1 - ty) + c11 * ty
        return Float(c0 * (1 - tz) + c1 * tz)
    }

    /// Runs `body(0..<count)` on `threads` threads, contiguous blocks per thread.
    private func parallel(_ count: Int, _ body: (Int) -> Void) {
        let workers = max(1, min(threads, count))
        if workers == 1 { for i in 0..<count { body(i) }; return }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for i in (count * w / workers)..<(count * (w + 1) / workers) { work(i) }
            }
        }
    }
}
