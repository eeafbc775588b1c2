import Foundation
import ShapeModel
import GeometryKit
import CWarpKernels

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
///
/// The node values are computed here; the near terms of each cell are built a
/// layer of cells at a time (`Layer`), so a warp keeps only one layer's lists
/// in cache instead of the whole grid's (tens of MB at full size).
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
    /// The spline, for its landmarks and weights.
    let spline: ThinPlateSpline
    /// Per landmark, the inclusive box of cells it is near (`lo > hi` on some axis: none).
    let lo: [SIMD3<Int32>], hi: [SIMD3<Int32>]

    /// Number of cells along x, y, z.
    public var cells: SIMD3<Int> { nodes &- 1 }

    /// Evaluates `spline` on the coarse nodes of the grid `(dims, spacing, origin)`
    /// on `threads` threads.
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
        self.spline = spline
        (dx, dy, dz) = Self.nodeDisplacements(nodes: nodes, step: step, spacing: spacing, origin: origin,
                                              spline: spline, threads: threads)

        // Landmark l is near every cell whose voxel box lies within `radius`
        // voxels of l along each axis.
        let cells = nodes &- 1
        var lo = [SIMD3<Int32>](), hi = [SIMD3<Int32>]()
        lo.reserveCapacity(spline.landmarkCount); hi.reserveCapacity(spline.landmarkCount)
        for l in 0..<spline.landmarkCount {
            let c = (SIMD3(spline.cx[l], spline.cy[l], spline.cz[l]) - origin) / spacing
            let r = Double(radius), s = Double(step)
            let a = SIMD3(Int(((c.x - r) / s).rounded(.down)), Int(((c.y - r) / s).rounded(.down)), Int(((c.z - r) / s).rounded(.down)))
            let b = SIMD3(Int(((c.x + r) / s).rounded(.down)), Int(((c.y + r) / s).rounded(.down)), Int(((c.z + r) / s).rounded(.down)))
            lo.append(SIMD3<Int32>(truncatingIfNeeded: pointwiseMax(a, .zero)))
            hi.append(SIMD3<Int32>(truncatingIfNeeded: pointwiseMin(b, cells &- 1)))
        }
        self.lo = lo
        self.hi = hi
    }

    /// `(f(p) − p) / spacing` at every node. A row of nodes along x shares y and
    /// z, so each landmark's distance in the (y, z) plane is computed once per
    /// row and the lanes run over 8 nodes of the row (`ssm_tps_node_row`, AVX
    /// where the CPU has it): per term a subtraction, two multiplies, an add
    /// and a square root. Single-precision terms, summed in double every 128
    /// landmarks.
    static func nodeDisplacements(nodes: SIMD3<Int>, step: Int, spacing: SIMD3<Double>, origin: SIMD3<Double>,
                                  spline: ThinPlateSpline, threads: Int) -> ([Double], [Double], [Double]) {
        let count = nodes.x * nodes.y * nodes.z
        var dx = [Double](repeating: 0, count: count), dy = dx, dz = dx
        let n = spline.landmarkCount
        let fcx = spline.cx.map { Float($0) }
        let fwx = spline.wx.map { Float($0) }, fwy = spline.wy.map { Float($0) }, fwz = spline.wz.map { Float($0) }
        let groups = (nodes.x + 7) / 8
        // Node x coordinates in lanes; the last group is padded with the last node.
        let xs = (0..<(groups * 8)).map { Float(origin.x + Double(min($0, nodes.x - 1) * step) * spacing.x) }
        dx.withUnsafeMutableBufferPointer { px in
            dy.withUnsafeMutableBufferPointer { py in
                dz.withUnsafeMutableBufferPointer { pz in
                    // Plane k writes only its own nodes.
                    nonisolated(unsafe) let (ox, oy, oz) = (px, py, pz)
                    Parallel.forEach(nodes.z, threads: threads) { k in
                        var yz = [Float](repeating: 0, count: n)
                        var sums = [Double](repeating: 0, count: 3 * groups * 8)
                        sums.withUnsafeMutableBufferPointer { sums in
                        let sx = UnsafeMutableBufferPointer(rebasing: sums[0..<(groups * 8)])
                        let sy = UnsafeMutableBufferPointer(rebasing: sums[(groups * 8)..<(2 * groups * 8)])
                        let sz = UnsafeMutableBufferPointer(rebasing: sums[(2 * groups * 8)...])
                        xs.withUnsafeBufferPointer { xs in
                        yz.withUnsafeMutableBufferPointer { yz in
                        fcx.withUnsafeBufferPointer { cx in
                        fwx.withUnsafeBufferPointer { wx in
                        fwy.withUnsafeBufferPointer { wy in
                        fwz.withUnsafeBufferPointer { wz in
                        spline.cy.withUnsafeBufferPointer { cy in
                        spline.cz.withUnsafeBufferPointer { cz in
                            let pz0 = origin.z + Double(k * step) * spacing.z
                            for j in 0..<nodes.y {
                                let py0 = origin.y + Double(j * step) * spacing.y
                                for l in 0..<n {
                                    let a = py0 - cy[l], b = pz0 - cz[l]
                                    // The distance in the (y, z) plane (the kernel squares it).
                                    yz[l] = Float((a * a + b * b).squareRoot())
                                }
                                ssm_tps_node_row(xs.baseAddress!, Int32(groups), cx.baseAddress!, yz.baseAddress!,
                                                 wx.baseAddress!, wy.baseAddress!, wz.baseAddress!, Int32(n),
                                                 sx.baseAddress!, sy.baseAddress!, sz.baseAddress!)
                                for g in 0..<groups {
                                    for lane in 0..<8 where g * 8 + lane < nodes.x {
                                        let i = g * 8 + lane
                                        let p = origin + SIMD3(Double(i * step), Double(j * step), Double(k * step)) * spacing
                                        let d = (spline.affine(p) + SIMD3(sx[i], sy[i], sz[i]) - p) / spacing
                                        let node = i + nodes.x * (j + nodes.y * k)
                                        ox[node] = d.x; oy[node] = d.y; oz[node] = d.z
                                    }
                                }
                            }
                        } } } } } } } } }
                    }
                }
            }
        }
        return (dx, dy, dz)
    }

    @inline(__always) func nodePoint(_ i: Int, _ j: Int, _ k: Int) -> SIMD3<Double> {
        origin + SIMD3(Double(i * step), Double(j * step), Double(k * step)) * spacing
    }

    /// Appends the kernel terms of `landmarks` (ascending) to `blocks`, starting a new block.
    @inline(__always)
    func pack<S: Sequence<Int32>>(_ landmarks: S, into blocks: inout [KernelBlock]) {
        var lane = 4
        for l32 in landmarks {
            let l = Int(l32)
            if lane == 4 {
                blocks.append(KernelBlock(x: .zero, y: .zero, z: .zero, wx: .zero, wy: .zero, wz: .zero))
                lane = 0
            }
            let b = blocks.count - 1
            blocks[b].x[lane] = Float(spline.cx[l]); blocks[b].y[lane] = Float(spline.cy[l]); blocks[b].z[lane] = Float(spline.cz[l])
            blocks[b].wx[lane] = Float(spline.wx[l]); blocks[b].wy[lane] = Float(spline.wy[l]); blocks[b].wz[lane] = Float(spline.wz[l])
            lane += 1
        }
    }

    /// The near sums `Σ_near wᵢ |corner − cᵢ|` at the 8 corners of cell (i, j, k), 3 values each.
    @inline(__always)
    func corners(_ i: Int, _ j: Int, _ k: Int, _ blocks: UnsafeBufferPointer<KernelBlock>, into out: UnsafeMutablePointer<Double>) {
        for corner in 0..<8 {
            let p = nodePoint(i + (corner & 1), j + ((corner >> 1) & 1), k + (corner >> 2))
            let s = KernelBlock.sum(p, blocks)
            out[corner * 3] = s.x; out[corner * 3 + 1] = s.y; out[corner * 3 + 2] = s.z
        }
    }

    /// The near terms of one layer of cells (fixed k): per cell its run of
    /// kernel blocks and its 8 × 3 corner sums. Reused from layer to layer.
    struct Layer {
        var k = -1
        var counts: [Int32] = [], members: [Int32] = []
        /// Cell `c = i + cells.x · j` has blocks `start[c] ..< start[c + 1]`
        /// and corner sums `corners[24c ..< 24c + 24]`.
        var start: [Int32] = []
        var blocks: [KernelBlock] = []
        var corners: [Double] = []
    }

    /// Fills `layer` with the near terms of cell layer `k`; each cell's
    /// landmarks in ascending order.
    func prepare(_ layer: inout Layer, k: Int) {
        let cells = self.cells
        let area = cells.x * cells.y
        layer.k = k
        if layer.counts.count != area + 1 {
            layer.counts = [Int32](repeating: 0, count: area + 1)
            layer.start = layer.counts
            layer.corners = [Double](repeating: 0, count: area * 24)
        } else {
            for c in 0...area { layer.counts[c] = 0 }
        }
        let k32 = Int32(k)
        var active: [Int] = []
        for l in 0..<lo.count where lo[l].z <= k32 && k32 <= hi[l].z && lo[l].x <= hi[l].x && lo[l].y <= hi[l].y {
            active.append(l)
        }
        for l in active {
            for j in Int(lo[l].y)...Int(hi[l].y) { for i in Int(lo[l].x)...Int(hi[l].x) { layer.counts[i + cells.x * j + 1] += 1 } }
        }
        for c in 0..<area { layer.counts[c + 1] += layer.counts[c] }
        let total = Int(layer.counts[area])
        if layer.members.count < total { layer.members = [Int32](repeating: 0, count: total) }
        var fill = layer.counts
        for l in active {
            for j in Int(lo[l].y)...Int(hi[l].y) { for i in Int(lo[l].x)...Int(hi[l].x) {
                let c = i + cells.x * j
                layer.members[Int(fill[c])] = Int32(l)
                fill[c] += 1
            } }
        }
        layer.blocks.removeAll(keepingCapacity: true)
        for c in 0..<area {
            layer.start[c] = Int32(layer.blocks.count)
            pack(layer.members[Int(layer.counts[c])..<Int(layer.counts[c + 1])], into: &layer.blocks)
        }
        layer.start[area] = Int32(layer.blocks.count)
        layer.blocks.withUnsafeBufferPointer { blocks in
            layer.corners.withUnsafeMutableBufferPointer { out in
                for c in 0..<area where layer.start[c] < layer.start[c + 1] {
                    let run = UnsafeBufferPointer(rebasing: blocks[Int(layer.start[c])..<Int(layer.start[c + 1])])
                    corners(c % cells.x, c / cells.x, k, run, into: out.baseAddress! + c * 24)
                }
            }
        }
    }

    /// Trilinear interpolation of the node values plus the cell's exact near
    /// terms (builds the voxel's whole cell layer: for single voxels).
    public func displacement(_ x: Int, _ y: Int, _ z: Int) -> SIMD3<Double> {
        var layer = Layer()
        prepare(&layer, k: min(z / step, cells.z - 1))
        return displacement(x, y, z, layer: layer)
    }

    /// `displacement(x, y, z)` with voxel z's cell layer already prepared.
    func displacement(_ x: Int, _ y: Int, _ z: Int, layer: Layer) -> SIMD3<Double> {
        let i = min(x / step, nodes.x - 2), j = min(y / step, nodes.y - 2), k = min(z / step, nodes.z - 2)
        precondition(layer.k == k, "layer \(layer.k) prepared for a voxel of layer \(k)")
        let f = SIMD3(Double(x - i * step), Double(y - j * step), Double(z - k * step)) / Double(step)
        var out = SIMD3<Double>.zero
        for c in 0..<8 {
            let n = (i + (c & 1)) + nodes.x * ((j + ((c >> 1) & 1)) + nodes.y * (k + (c >> 2)))
            out += Self.cornerWeight(c, f) * SIMD3(dx[n], dy[n], dz[n])
        }
        let c = i + cells.x * j
        let from = Int(layer.start[c]), to = Int(layer.start[c + 1])
        if from == to { return out }
        let p = origin + SIMD3(Double(x), Double(y), Double(z)) * spacing
        return out + layer.blocks.withUnsafeBufferPointer { blocks in
            layer.corners.withUnsafeBufferPointer { corners in
                Self.correction(p, UnsafeBufferPointer(rebasing: blocks[from..<to]), corners.baseAddress! + c * 24, f, spacing)
            }
        }
    }

    @inline(__always) static func cornerWeight(_ c: Int, _ f: SIMD3<Double>) -> Double {
        (c & 1 == 1 ? f.x : 1 - f.x) * ((c >> 1) & 1 == 1 ? f.y : 1 - f.y) * (c >> 2 == 1 ? f.z : 1 - f.z)
    }

    /// The exact-minus-interpolated near-landmark terms at point `p` of a cell
    /// whose trilinear fractions are `f`, near terms `blocks` and corner sums
    /// `corners`; in voxels.
    @inline(__always)
    static func correction(_ p: SIMD3<Double>, _ blocks: UnsafeBufferPointer<KernelBlock>, _ corners: UnsafePointer<Double>,
                           _ f: SIMD3<Double>, _ spacing: SIMD3<Double>) -> SIMD3<Double> {
        var s = KernelBlock.sum(p, blocks)
        for c in 0..<8 {
            let w = cornerWeight(c, f)
            s -= w * SIMD3(corners[c * 3], corners[c * 3 + 1], corners[c * 3 + 2])
        }
        return s / spacing
    }
}

/// Splits `0..<count` over `threads` threads. Work is handed out one index at
/// a time, so uneven items balance; `body` must not depend on which thread runs it.
enum Parallel {
    static func forEach(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        forEachWorker(count, threads: threads) { next in while let i = next() { body(i) } }
    }

    /// Runs `worker` on up to `threads` threads; each calls `next()` for the
    /// next index until it returns nil (state such as scratch buffers can live
    /// in the worker across its indices).
    static func forEachWorker(_ count: Int, threads: Int, _ worker: (_ next: () -> Int?) -> Void) {
        let workers = max(1, min(threads, count))
        if workers == 1 {
            var i = 0
            worker { i < count ? { defer { i += 1 }; return i }() : nil }
            return
        }
        let lock = NSLock()
        nonisolated(unsafe) var nextIndex = 0
        withoutActuallyEscaping(worker) { worker in
            nonisolated(unsafe) let work = worker
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                work {
                    lock.withLock {
                        guard nextIndex < count else { return nil }
                        defer { nextIndex += 1 }
                        return nextIndex
                    }
                }
            }
        }
    }
}
