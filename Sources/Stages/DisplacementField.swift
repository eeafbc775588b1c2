import Foundation
import GeometryKit

/// The backward map of a thin-plate spline over an image grid, in voxels:
/// `d(v) = index(f(point(v))) − v`, cheap to evaluate at every voxel.
///
/// `f − p` is evaluated exactly at coarse nodes every `step` voxels and
/// interpolated trilinearly. That alone is not accurate enough: the kernel
/// `wᵢ |p − cᵢ|` has a cone-shaped kink at each landmark, which trilinear
/// interpolation smooths over by up to |wᵢ|·step/4. So each kernel term of a
/// landmark within `radius` voxels of a cell is taken out of the interpolation
/// and added back exactly ("singularity subtraction"): inside that cell
/// `d = interp(f − p) + Σ_near wᵢ (|p − cᵢ| − interp(|· − cᵢ|))`. The far terms
/// are smooth there (second derivative |wᵢ|/r), so their interpolation error is small.
public struct DisplacementField: Sendable {
    public let step: Int
    /// Node counts along x, y, z: nodes at voxel indices 0, step, 2·step, ...,
    /// the last at or beyond the last voxel; at least 2 per axis.
    public let nodes: SIMD3<Int>
    /// Voxels (per axis) around a cell within which landmarks are treated exactly.
    public let radius: Int
    let dims: SIMD3<Int>
    let spacing: SIMD3<Double>
    let origin: SIMD3<Double>
    /// Node displacements (voxels), node index `i + nx·(j + ny·k)`.
    let dx: [Double], dy: [Double], dz: [Double]
    /// Per cell `c`, its near landmarks' kernel terms are blocks
    /// `nearStart[c]..<nearStart[c+1]` of `near`, and its 8 × 3 corner sums
    /// `Σ_near wᵢ |corner − cᵢ|` are `corners[24c ..< 24c + 24]`.
    let nearStart: [Int32]
    let near: [KernelBlock]
    let corners: [Double]

    /// Number of cells along x, y, z.
    public var cells: SIMD3<Int> { nodes &- 1 }

    /// Evaluates `spline` on the coarse nodes of the grid `(dims, spacing, origin)`
    /// and prepares the exact near-landmark terms, on `threads` threads.
    public init(dims: SIMD3<Int>, spacing: SIMD3<Double>, origin: SIMD3<Double>, spline: ThinPlateSpline,
                step: Int, radius: Int, threads: Int) {
        precondition(step >= 1 && radius >= 0, "step must be ≥ 1 and radius ≥ 0")
        let nodes = SIMD3(max(2, (dims.x - 1 + step - 1) / step + 1),
                          max(2, (dims.y - 1 + step - 1) / step + 1),
                          max(2, (dims.z - 1 + step - 1) / step + 1))
        self.step = step
        self.nodes = nodes
        self.radius = radius
        self.dims = dims
        self.spacing = spacing
        self.origin = origin
        let grid = ImageVolume(dims: SIMD3(1, 1, 1), spacing: spacing, origin: origin, voxels: [0])
        func nodePoint(_ i: Int, _ j: Int, _ k: Int) -> SIMD3<Double> {
            grid.point(SIMD3(Double(i * step), Double(j * step), Double(k * step)))
        }

        let count = nodes.x * nodes.y * nodes.z
        var dx = [Double](repeating: 0, count: count), dy = dx, dz = dx
        dx.withUnsafeMutableBufferPointer { px in
            dy.withUnsafeMutableBufferPointer { py in
                dz.withUnsafeMutableBufferPointer { pz in
                    // Plane k writes only its own nodes.
                    nonisolated(unsafe) let (bx, by, bz) = (px, py, pz)
                    Parallel.forEach(nodes.z, threads: threads) { k in
                        for j in 0..<nodes.y {
                            for i in 0..<nodes.x {
                                let p = nodePoint(i, j, k)
                                let d = (spline.fast(p) - p) / spacing
                                let n = i + nodes.x * (j + nodes.y * k)
                                bx[n] = d.x; by[n] = d.y; bz[n] = d.z
                            }
                        }
                    }
                }
            }
        }
        self.dx = dx; self.dy = dy; self.dz = dz

        // Near lists: landmark l belongs to every cell whose voxel box lies within
        // `radius` voxels of l along each axis; lists keep landmark order.
        let cells = nodes &- 1
        let cellCount = cells.x * cells.y * cells.z
        func cellRange(_ l: Int) -> (SIMD3<Int>, SIMD3<Int>) {
            let c = grid.continuousIndex(SIMD3(spline.cx[l], spline.cy[l], spline.cz[l]))
            let r = Double(radius)
            let lo = SIMD3(Int(((c.x - r) / Double(step)).rounded(.down)), Int(((c.y - r) / Double(step)).rounded(.down)),
                           Int(((c.z - r) / Double(step)).rounded(.down)))
            let hi = SIMD3(Int(((c.x + r) / Double(step)).rounded(.down)), Int(((c.y + r) / Double(step)).rounded(.down)),
                           Int(((c.z + r) / Double(step)).rounded(.down)))
            return (pointwiseMax(lo, .zero), pointwiseMin(hi, cells &- 1))
        }
        var counts = [Int32](repeating: 0, count: cellCount + 1)
        let landmarkCount = spline.landmarkCount
        for l in 0..<landmarkCount {
            let (lo, hi) = cellRange(l)
            guard lo.x <= hi.x, lo.y <= hi.y, lo.z <= hi.z else { continue }
            for k in lo.z...hi.z { for j in lo.y...hi.y { for i in lo.x...hi.x { counts[i + cells.x * (j + cells.y * k) + 1] += 1 } } }
        }
        for c in 0..<cellCount { counts[c + 1] += counts[c] }
        var fill = counts
        var members = [Int32](repeating: 0, count: Int(counts[cellCount]))
        for l in 0..<landmarkCount {
            let (lo, hi) = cellRange(l)
            guard lo.x <= hi.x, lo.y <= hi.y, lo.z <= hi.z else { continue }
            for k in lo.z...hi.z { for j in lo.y...hi.y { for i in lo.x...hi.x {
                let c = i + cells.x * (j + cells.y * k)
                members[Int(fill[c])] = Int32(l)
                fill[c] += 1
            } } }
        }
        // Each cell's near terms as its own run of SIMD blocks.
        var builder = KernelBlock.Builder()
        var blockStart = [Int32](repeating: 0, count: cellCount + 1)
        for c in 0..<cellCount {
            builder.closeBlock()
            for m in Int(counts[c])..<Int(counts[c + 1]) {
                let l = Int(members[m])
                builder.append(SIMD3(spline.cx[l], spline.cy[l], spline.cz[l]), SIMD3(spline.wx[l], spline.wy[l], spline.wz[l]))
            }
            blockStart[c + 1] = Int32(builder.blocks.count)
        }
        let near = builder.finish()
        var corners = [Double](repeating: 0, count: cellCount * 24)
        corners.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let out = buffer
            let start = blockStart
            Parallel.forEach(cells.z, threads: threads) { k in
                for j in 0..<cells.y {
                    for i in 0..<cells.x {
                        let c = i + cells.x * (j + cells.y * k)
                        for corner in 0..<8 {
                            let p = nodePoint(i + (corner & 1), j + ((corner >> 1) & 1), k + (corner >> 2))
                            let s = KernelBlock.sum(p, near[Int(start[c])..<Int(start[c + 1])])
                            out[c * 24 + corner * 3] = s.x; out[c * 24 + corner * 3 + 1] = s.y; out[c * 24 + corner * 3 + 2] = s.z
                        }
                    }
                }
            }
        }
        self.nearStart = blockStart
        self.near = near
        self.corners = corners
    }

    /// Trilinear interpolation of the node values plus the cell's exact near terms.
    public func displacement(_ x: Int, _ y: Int, _ z: Int) -> SIMD3<Double> {
        let i = min(x / step, nodes.x - 2), j = min(y / step, nodes.y - 2), k = min(z / step, nodes.z - 2)
        let f = SIMD3(Double(x - i * step), Double(y - j * step), Double(z - k * step)) / Double(step)
        var out = SIMD3<Double>.zero
        for c in 0..<8 {
            let n = (i + (c & 1)) + nodes.x * ((j + ((c >> 1) & 1)) + nodes.y * (k + (c >> 2)))
            out += Self.cornerWeight(c, f) * SIMD3(dx[n], dy[n], dz[n])
        }
        return out + correction(cell: i + cells.x * (j + cells.y * k), x, y, z, f)
    }

    @inline(__always) static func cornerWeight(_ c: Int, _ f: SIMD3<Double>) -> Double {
        (c & 1 == 1 ? f.x : 1 - f.x) * ((c >> 1) & 1 == 1 ? f.y : 1 - f.y) * (c >> 2 == 1 ? f.z : 1 - f.z)
    }

    /// The exact-minus-interpolated near-landmark terms at voxel (x, y, z) of
    /// `cell`, whose trilinear fractions are `f`; in voxels.
    @inline(__always)
    func correction(cell: Int, _ x: Int, _ y: Int, _ z: Int, _ f: SIMD3<Double>) -> SIMD3<Double> {
        let from = Int(nearStart[cell]), to = Int(nearStart[cell + 1])
        if from == to { return .zero }
        let p = origin + SIMD3(Double(x), Double(y), Double(z)) * spacing
        var s = KernelBlock.sum(p, near[from..<to])
        for c in 0..<8 {
            let w = Self.cornerWeight(c, f), b = cell * 24 + c * 3
            s -= w * SIMD3(corners[b], corners[b + 1], corners[b + 2])
        }
        return s / spacing
    }
}

/// Splits `0..<count` into contiguous blocks, one per thread.
enum Parallel {
    static func forEach(_ count: Int, threads: Int, _ body: (Int) -> Void) {
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
