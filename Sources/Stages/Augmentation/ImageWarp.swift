import Foundation
import ShapeModel
import GeometryKit
import CWarpKernels

/// Backward warp of an image by a thin-plate spline: output voxel p (on the
/// input's own grid) takes the input's trilinear value at `f(p)`, 0 outside.
///
/// Evaluating f at every voxel costs n square roots per voxel (~10⁹ for a
/// full-size femur image and 512 landmarks), so f − p is evaluated on a coarse
/// grid of nodes every `gridStep` voxels, interpolated, and corrected exactly
/// near the landmarks (`DisplacementField`); `maxFieldError` measures the result.
public struct ImageWarp: Sendable {
    /// Voxels between coarse-grid nodes along each axis; 1 evaluates f at every voxel.
    public var gridStep: Int
    /// Voxels around a coarse cell within which landmark kernel terms are
    /// evaluated exactly instead of interpolated (see `DisplacementField`).
    public var correctionRadius: Int
    /// Threads sharing the work (planes of coarse nodes, then layers of cells).
    public var threads: Int

    public init(gridStep: Int = 2, correctionRadius: Int = 10, threads: Int = 2) {
        precondition(gridStep >= 1 && correctionRadius >= 0 && threads >= 1,
                     "gridStep and threads must be at least 1, correctionRadius at least 0")
        self.gridStep = gridStep
        self.correctionRadius = correctionRadius
        self.threads = threads
    }

    /// The backward map of `spline` over `image`'s grid.
    public func field(for image: ImageVolume, spline: ThinPlateSpline) -> DisplacementField {
        DisplacementField(dims: image.dims, spacing: image.spacing, origin: image.origin, spline: spline,
                          step: gridStep, radius: correctionRadius, threads: threads)
    }

    /// The warped image, through the coarse displacement field.
    public func apply(to image: ImageVolume, spline: ThinPlateSpline) -> ImageVolume {
        apply(to: image, field: field(for: image, spline: spline))
    }

    /// The warped image for a precomputed field of the image's grid. Cell
    /// layers (`step` voxel planes each) are handed out to the threads one at a
    /// time; each builds its layer's near terms and resamples its planes.
    public func apply(to image: ImageVolume, field: DisplacementField) -> ImageVolume {
        precondition(field.dims == image.dims, "field and image grids differ")
        let (nx, ny, nz) = (image.dims.x, image.dims.y, image.dims.z)
        let s = field.step, nodesX = field.nodes.x, nodesY = field.nodes.y, cells = field.cells
        let cellsOfX = (0..<nx).map { min($0 / s, cells.x - 1) }
        let fractionsOfX = (0..<nx).map { Double($0 - cellsOfX[$0] * s) / Double(s) }
        let spacing = field.spacing, origin = field.origin
        var out = [Float](repeating: 0, count: image.count)
        out.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let output = buffer
            image.voxels.withUnsafeBufferPointer { source in
            field.dx.withUnsafeBufferPointer { fdx in
            field.dy.withUnsafeBufferPointer { fdy in
            field.dz.withUnsafeBufferPointer { fdz in
            cellsOfX.withUnsafeBufferPointer { cellsOfX in
            fractionsOfX.withUnsafeBufferPointer { fractionsOfX in
                nonisolated(unsafe) let (input, dx, dy, dz) = (source, fdx, fdy, fdz)
                nonisolated(unsafe) let (cellOfX, fractionOfX) = (cellsOfX, fractionsOfX)
                Parallel.forEachWorker(cells.z, threads: threads) { next in
                    var layer = DisplacementField.Layer()
                    var row = [Double](repeating: 0, count: nodesX * 3)
                    while let k = next() {
                        field.prepare(&layer, k: k)
                        let zEnd = k == cells.z - 1 ? nz : min(nz, (k + 1) * s)
                        layer.blocks.withUnsafeBufferPointer { blocks in
                        layer.corners.withUnsafeBufferPointer { corners in
                        layer.start.withUnsafeBufferPointer { start in
                        row.withUnsafeMutableBufferPointer { row in
                            for z in (k * s)..<zEnd {
                                // Interpolate in y and z once per coarse x node, then in x per voxel.
                                let fz = Double(z - k * s) / Double(s)
                                let pz = origin.z + Double(z) * spacing.z
                                for y in 0..<ny {
                                    let j = min(y / s, cells.y - 1), fy = Double(y - j * s) / Double(s)
                                    let w00 = (1 - fy) * (1 - fz), w10 = fy * (1 - fz), w01 = (1 - fy) * fz, w11 = fy * fz
                                    let n00 = nodesX * (j + nodesY * k), n10 = nodesX * (j + 1 + nodesY * k)
                                    let n01 = nodesX * (j + nodesY * (k + 1)), n11 = nodesX * (j + 1 + nodesY * (k + 1))
                                    for i in 0..<nodesX {
                                        row[i * 3] = w00 * dx[n00 + i] + w10 * dx[n10 + i] + w01 * dx[n01 + i] + w11 * dx[n11 + i]
                                        row[i * 3 + 1] = w00 * dy[n00 + i] + w10 * dy[n10 + i] + w01 * dy[n01 + i] + w11 * dy[n11 + i]
                                        row[i * 3 + 2] = w00 * dz[n00 + i] + w10 * dz[n10 + i] + w01 * dz[n01 + i] + w11 * dz[n11 + i]
                                    }
                                    let cellRow = cells.x * j
                                    ssm_warp_row(input.baseAddress!, nx, ny, nz, y, z, row.baseAddress!, cellOfX.baseAddress!,
                                                 fractionOfX.baseAddress!, start.baseAddress! + cellRow,
                                                 blocks.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: ssm_kernel_block.self) },
                                                 corners.baseAddress! + 24 * cellRow,
                                                 origin.x, origin.y + Double(y) * spacing.y, pz, fy, fz,
                                                 spacing.x, spacing.y, spacing.z, output.baseAddress! + nx * (y + ny * z))
                                }
                            }
                        } } } }
                    }
                }
            } } } } } }
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
                Parallel.forEach(nz, threads: threads) { z in
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
        var layer = DisplacementField.Layer()
        for z in stride(from: 0, to: image.dims.z, by: sampleStride) {
            let k = min(z / field.step, field.cells.z - 1)
            if layer.k != k { field.prepare(&layer, k: k) }
            for y in stride(from: 0, to: image.dims.y, by: sampleStride) {
                for x in stride(from: 0, to: image.dims.x, by: sampleStride) {
                    let v = SIMD3(Double(x), Double(y), Double(z))
                    let exact = image.continuousIndex(spline(image.point(v)))
                    let d = exact - (v + field.displacement(x, y, z, layer: layer))
                    worst = max(worst, (d * d).sum().squareRoot())
                }
            }
        }
        return worst
    }

    /// `q.rounded(.down)` for |q| < 2⁶³ without a libm call (x86-64's baseline
    /// has no rounding instruction): truncate, then step down below zero.
    @inline(__always) static func floorDown(_ q: Double) -> Double {
        let t = Double(Int(q))
        return t > q ? t - 1 : t
    }

    /// Trilinear interpolation at continuous index q; 0 outside the image
    /// (ITK's rule: inside means −0.5 ≤ q < n − 0.5, neighbours clamped to the border).
    @inline(__always)
    static func trilinear(_ v: UnsafeBufferPointer<Float>, _ nx: Int, _ ny: Int, _ nz: Int,
                          _ qx: Double, _ qy: Double, _ qz: Double) -> Float {
        guard qx >= -0.5, qy >= -0.5, qz >= -0.5,
              qx < Double(nx) - 0.5, qy < Double(ny) - 0.5, qz < Double(nz) - 0.5 else { return 0 }
        let fx0 = floorDown(qx), fy0 = floorDown(qy), fz0 = floorDown(qz)
        let tx = qx - fx0, ty = qy - fy0, tz = qz - fz0
        // In range (the guard), so wrapping arithmetic cannot wrap.
        let ix = Int(fx0), iy = Int(fy0), iz = Int(fz0)
        let x0 = max(ix, 0), y0 = max(iy, 0), z0 = max(iz, 0)
        let x1 = min(ix &+ 1, nx &- 1), y1 = min(iy &+ 1, ny &- 1), z1 = min(iz &+ 1, nz &- 1)
        let r00 = nx &* (y0 &+ ny &* z0), r10 = nx &* (y1 &+ ny &* z0), r01 = nx &* (y0 &+ ny &* z1), r11 = nx &* (y1 &+ ny &* z1)
        let c00 = Double(v[r00 &+ x0]) * (1 - tx) + Double(v[r00 &+ x1]) * tx
        let c10 = Double(v[r10 &+ x0]) * (1 - tx) + Double(v[r10 &+ x1]) * tx
        let c01 = Double(v[r01 &+ x0]) * (1 - tx) + Double(v[r01 &+ x1]) * tx
        let c11 = Double(v[r11 &+ x0]) * (1 - tx) + Double(v[r11 &+ x1]) * tx
        let c0 = c00 * (1 - ty) + c10 * ty, c1 = c01 * (1 - ty) + c11 * ty
        return Float(c0 * (1 - tz) + c1 * tz)
    }
}
