import Foundation

/// Four thin-plate-spline kernel terms `wᵢ |p − cᵢ|` in SIMD lanes: landmark
/// coordinates and weights in single precision. Padding lanes have zero weight.
public struct KernelBlock: Sendable {
    public var x: SIMD4<Float>, y: SIMD4<Float>, z: SIMD4<Float>
    public var wx: SIMD4<Float>, wy: SIMD4<Float>, wz: SIMD4<Float>

    public init(x: SIMD4<Float>, y: SIMD4<Float>, z: SIMD4<Float>, wx: SIMD4<Float>, wy: SIMD4<Float>, wz: SIMD4<Float>) {
        self.x = x; self.y = y; self.z = z
        self.wx = wx; self.wy = wy; self.wz = wz
    }

    /// `Σ wᵢ |p − cᵢ|` over `blocks`, accumulated per lane in Float and summed in Double.
    @inlinable
    public static func sum(_ p: SIMD3<Double>, _ blocks: ArraySlice<KernelBlock>) -> SIMD3<Double> {
        blocks.withUnsafeBufferPointer { sum(p, $0) }
    }

    /// `Σ wᵢ |p − cᵢ|` over `b`, accumulated per lane in Float and summed in Double.
    @inlinable @inline(__always)
    public static func sum(_ p: SIMD3<Double>, _ b: UnsafeBufferPointer<KernelBlock>) -> SIMD3<Double> {
        let px = SIMD4(repeating: Float(p.x)), py = SIMD4(repeating: Float(p.y)), pz = SIMD4(repeating: Float(p.z))
        var sx = SIMD4<Float>.zero, sy = SIMD4<Float>.zero, sz = SIMD4<Float>.zero
        var tx = SIMD4<Float>.zero, ty = SIMD4<Float>.zero, tz = SIMD4<Float>.zero
        // Two blocks per iteration into separate accumulators: the adds of
        // one do not wait for the other's (latency, not square roots, bounds this loop).
        var i = 0
        while i + 1 < b.count {
            let u = b[i], v = b[i + 1]
            let ux = px - u.x, uy = py - u.y, uz = pz - u.z
            let vx = px - v.x, vy = py - v.y, vz = pz - v.z
            let ru = (ux * ux + uy * uy + uz * uz).squareRoot()
            let rv = (vx * vx + vy * vy + vz * vz).squareRoot()
            sx += u.wx * ru; sy += u.wy * ru; sz += u.wz * ru
            tx += v.wx * rv; ty += v.wy * rv; tz += v.wz * rv
            i += 2
        }
        if i < b.count {
            let u = b[i]
            let ux = px - u.x, uy = py - u.y, uz = pz - u.z
            let ru = (ux * ux + uy * uy + uz * uz).squareRoot()
            sx += u.wx * ru; sy += u.wy * ru; sz += u.wz * ru
        }
        return SIMD3(Double(sx.sum()) + Double(tx.sum()), Double(sy.sum()) + Double(ty.sum()), Double(sz.sum()) + Double(tz.sum()))
    }

    /// Packs terms four at a time.
    public struct Builder: Sendable {
        public private(set) var blocks: [KernelBlock] = []
        private var lane = 4

        public init() {}

        public mutating func append(_ c: SIMD3<Double>, _ w: SIMD3<Double>) {
            if lane == 4 {
                blocks.append(KernelBlock(x: .zero, y: .zero, z: .zero, wx: .zero, wy: .zero, wz: .zero))
                lane = 0
            }
            let last = blocks.count - 1
            blocks[last].x[lane] = Float(c.x); blocks[last].y[lane] = Float(c.y); blocks[last].z[lane] = Float(c.z)
            blocks[last].wx[lane] = Float(w.x); blocks[last].wy[lane] = Float(w.y); blocks[last].wz[lane] = Float(w.z)
            lane += 1
        }

        /// Starts a new block at the next append (for per-cell lists).
        public mutating func closeBlock() { lane = 4 }

        public func finish() -> [KernelBlock] { blocks }
    }
}
